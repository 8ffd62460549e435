/* Live keyword preview and browser time zone for the subscribe and manage forms.
   The server renders (and escapes) the preview; this only fetches and places it. */
(function () {
  "use strict";
  function debounce(fn, ms) {
    var t;
    return function () { clearTimeout(t); t = setTimeout(fn, ms); };
  }
  document.querySelectorAll("textarea[data-preview-url]").forEach(function (box) {
    var target = document.getElementById(box.getAttribute("data-preview-target"));
    if (!target) return;
    var last = null, controller = null;
    var update = debounce(function () {
      var value = box.value.trim();
      if (value === last) return;
      last = value;
      if (!value) { target.innerHTML = ""; return; }
      if (controller) controller.abort();
      controller = "AbortController" in window ? new AbortController() : null;
      fetch(box.getAttribute("data-preview-url") + "?keywords=" + encodeURIComponent(value.slice(0, 3000)), {
        headers: { "X-Requested-With": "fetch" }, signal: controller ? controller.signal : undefined
      }).then(function (r) { return r.ok ? r.text() : ""; })
        .then(function (html) { if (box.value.trim() === value) target.innerHTML = html; })
        .catch(function () {});
    }, 400);
    box.addEventListener("input", update);
    if (box.value.trim()) update();
  });
  document.querySelectorAll("input[data-browser-timezone]").forEach(function (input) {
    try { input.value = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) {}
  });
})();
