/* Live keyword preview and browser time zone for the subscribe and manage forms.
   The server renders (and escapes) the preview; this only fetches and places it. */
(function () {
  "use strict";
  function debounce(fn, ms) {
    var t;
    return function () { clearTimeout(t); t = setTimeout(fn, ms); };
  }
  document.querySelectorAll("[data-preview-url]").forEach(function (box) {
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
    // After a refused submit the server's message under the field speaks for this
    // value: a live hint saying the same would print it twice. Once the person
    // edits, that message is stale, so it goes and the live hint takes over.
    var serverErrors = box.getAttribute("aria-invalid") === "true";
    box.addEventListener("input", function () {
      if (serverErrors) {
        serverErrors = false;
        box.removeAttribute("aria-invalid");
        var field = box.closest(".sub-field");
        if (field) {
          field.classList.remove("has-error");
          field.querySelectorAll(".sub-errors").forEach(function (list) {
            var ids = (box.getAttribute("aria-describedby") || "").split(/\s+/).filter(function (id) { return id && id !== list.id; });
            box.setAttribute("aria-describedby", ids.join(" "));
            list.remove();
          });
        }
      }
      update();
    });
    if (box.value.trim() && !serverErrors) update();
  });
  document.querySelectorAll("input[data-browser-timezone]").forEach(function (input) {
    try { input.value = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) {}
  });
})();
