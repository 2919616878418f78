// The floor app's entry: registers the service worker (the app shell works offline) and shows the first screen.
if ("serviceWorker" in navigator) {
  navigator.serviceWorker.register("/app/sw.js", { scope: "/app/" });
}
document.getElementById("screen").textContent = "Floorsync";
