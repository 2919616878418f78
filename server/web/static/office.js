// Office UI behaviour that needs script. Loaded as a file because the Content-Security-Policy allows no inline script.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  // After a refused save, put the cursor in the first field that needs fixing.
  const firstInvalid = document.querySelector('[aria-invalid="true"]');
  if (firstInvalid) firstInvalid.focus();
});

// A session that expired while the reader was filtering: htmx gets 401, the page goes to the login form.
document.addEventListener("htmx:responseError", (event) => {
  if (event.detail.xhr.status === 401) window.location.assign("/login");
});

// A fragment target marked data-swap-errors shows the refusal the server sent (422, 409) instead of nothing.
document.addEventListener("htmx:beforeSwap", (event) => {
  const status = event.detail.xhr.status;
  if (event.detail.target.hasAttribute("data-swap-errors") && status >= 400 && status < 500 && status !== 401) {
    event.detail.shouldSwap = true;
    event.detail.isError = false;
  }
});
