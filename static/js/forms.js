// Forms marked data-disable-on-submit disable their submit button once sent, so a double
// click cannot send twice (a static file: the Content-Security-Policy allows no inline code).
(function () {
  "use strict";
  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-disable-on-submit")) return;
    form.querySelectorAll("button[type=submit]").forEach((button) => {
      button.disabled = true;
    });
  });
})();
