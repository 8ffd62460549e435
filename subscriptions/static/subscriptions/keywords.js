/* Live preview and browser time zone for the subscribe and manage forms.
   The server renders (and escapes) the preview; this only fetches and places it.
   The preview reads the whole form: keywords, words to keep out, and the trending
   choice (no keywords = the trending list; "plus the top 3 trending"). */
(function () {
  "use strict";
  function debounce(fn, ms) {
    var t;
    return function () { clearTimeout(t); t = setTimeout(fn, ms); };
  }
  function trendingChoice(form) {
    var radio = form.querySelector("input[name=trending]:checked");
    if (radio) return radio.value;
    var plus = form.querySelector("input[name=plus_trending]");
    return plus && plus.checked ? "top3" : "off";
  }
  document.querySelectorAll("[data-preview-url]").forEach(function (box) {
    var target = document.getElementById(box.getAttribute("data-preview-target"));
    var form = box.form;
    if (!target || !form) return;
    var last = null, controller = null;
    var update = debounce(function () {
      var exclusions = form.querySelector("textarea[name=exclusions]");
      var query = "keywords=" + encodeURIComponent(box.value.trim().slice(0, 3000)) +
        "&exclusions=" + encodeURIComponent(exclusions ? exclusions.value.trim().slice(0, 3000) : "") +
        "&trending=" + encodeURIComponent(trendingChoice(form));
      if (query === last) return;
      last = query;
      if (controller) controller.abort();
      controller = "AbortController" in window ? new AbortController() : null;
      fetch(box.getAttribute("data-preview-url") + "?" + query, {
        headers: { "X-Requested-With": "fetch" }, signal: controller ? controller.signal : undefined
      }).then(function (r) { return r.ok ? r.text() : ""; })
        .then(function (html) { if (last === query) target.innerHTML = html; })
        .catch(function () {});
    }, 400);
    // The other fields the preview reads: words to keep out, the trending choice.
    function other(event) { if (event.target !== box) update(); }
    form.addEventListener("input", other);
    form.addEventListener("change", other);
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
    if ((box.value.trim() || box.hasAttribute("data-preview-now")) && !serverErrors) update();
  });
  document.querySelectorAll("input[data-browser-timezone]").forEach(function (input) {
    try { input.value = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) {}
  });
  // The feed address selects itself for copying (here, not in an onfocus attribute: the CSP allows no inline code).
  document.querySelectorAll("input[data-select-on-focus]").forEach(function (input) {
    input.addEventListener("focus", function () { input.select(); });
  });
})();
