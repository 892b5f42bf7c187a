// The access request form's live DUO check: an enhancement only (without it, the saved draft shows the verdict).
(function () {
  "use strict";
  var form = document.querySelector("form[data-live-verdict]");
  var target = document.getElementById("live-verdict");
  if (!form || !target || !window.fetch) { return; }
  var fields = { datasets: "dataset", purpose: "purpose", disease_terms: "disease_terms", for_profit: "for_profit" };
  var timer = null;
  function update() {
    var params = new URLSearchParams();
    new FormData(form).forEach(function (value, name) {
      if (fields[name]) { params.append(fields[name], value); }
    });
    fetch("/requests/verdict?" + params.toString(), { credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.text() : ""; })
      .then(function (html) { if (html) { target.innerHTML = html; } });
  }
  form.addEventListener("change", function () {
    window.clearTimeout(timer);
    timer = window.setTimeout(update, 200);
  });
})();
