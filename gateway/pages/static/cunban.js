/* 村办: a little help where the browser runs scripts. Every page works without it. */
(function () {
  "use strict";
  // A form sends once: a second tap on a weak link does not post it again (the server also
  // recognises a repeat by the form's Idempotency-Key).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.dataset.sent) { event.preventDefault(); return; }
    form.dataset.sent = "1";
    var buttons = form.querySelectorAll("button[type=submit]");
    for (var i = 0; i < buttons.length; i++) { buttons[i].setAttribute("aria-disabled", "true"); }
  });
  // Back to a page kept whole by the browser: its forms may be sent again.
  window.addEventListener("pageshow", function () {
    var forms = document.querySelectorAll("form[data-sent]");
    for (var i = 0; i < forms.length; i++) { delete forms[i].dataset.sent; }
  });
  // A print button prints the page (without scripts, the browser's own print does).
  document.addEventListener("click", function (event) {
    var target = event.target.closest ? event.target.closest("[data-print]") : null;
    if (target) { event.preventDefault(); window.print(); }
  });
})();

// An ID number 身份证号 is checked as it is typed (GB 11643 check digit); the server checks it again.
(function () {
  "use strict";
  var weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  var digits = "10X98765432";
  function idCardOk(value) {
    if (!/^[0-9]{17}[0-9X]$/.test(value)) { return false; }
    var sum = 0;
    for (var i = 0; i < 17; i++) { sum += Number(value.charAt(i)) * weights[i]; }
    return digits.charAt(sum % 11) === value.charAt(17);
  }
  document.addEventListener("input", function (event) {
    var input = event.target;
    if (!input.hasAttribute || !input.hasAttribute("data-id-card")) { return; }
    var value = input.value.trim().toUpperCase();
    input.setCustomValidity(value.length === 18 && !idCardOk(value) ? "身份证号校验位不对，请核对" : "");
  });
})();
