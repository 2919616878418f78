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
