// Small progressive enhancements; every page works without them.
document.addEventListener("click", (event) => {
  const target = event.target.closest("[data-confirm]");
  if (target && !window.confirm(target.dataset.confirm)) {
    event.preventDefault();
  }
});

// The phone's menu button opens and closes the main menu (w2loans).
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-menu-toggle]");
  if (!button) return;
  const nav = document.getElementById(button.getAttribute("aria-controls"));
  const open = !nav.classList.contains("open");
  nav.classList.toggle("open", open);
  button.closest(".topbar").classList.toggle("menu-open", open);
  button.setAttribute("aria-expanded", String(open));
});
