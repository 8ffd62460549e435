/* Live preview of Markdown the editor is typing (the paper's editor note, the daily
   note), before saving. The server renders and sanitizes it (the same code the
   site and the email use); this only sends the text and places the answer. */
// The admin loads this in <head>: wait for the form.
document.addEventListener("DOMContentLoaded", function () {
  "use strict";
  function csrfToken() {
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }
  document.querySelectorAll(".note-live-preview[data-source]").forEach(function (box) {
    var field = document.getElementById("id_" + box.getAttribute("data-source"));
    if (!field) return;
    var date = document.getElementById("id_date");  // the daily note's: its day page is linked
    var timer = null, latest = 0;
    function refresh() {
      var request = ++latest;
      var body = new FormData();
      body.append("text", field.value);
      if (date) body.append("date", date.value);
      fetch(box.getAttribute("data-url"), {
        method: "POST", body: body, credentials: "same-origin", headers: { "X-CSRFToken": csrfToken() }
      }).then(function (response) {
        if (!response.ok) throw new Error("preview answered " + response.status);
        return response.text();
      }).then(function (html) {
        if (request === latest) box.innerHTML = html;  // an older, slower answer never wins
      }).catch(function () {
        box.setAttribute("data-stale", "true");
      });
    }
    function soon() { clearTimeout(timer); timer = setTimeout(refresh, 300); }
    field.addEventListener("input", soon);
    if (date) date.addEventListener("change", soon);
  });
});
