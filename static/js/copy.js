// Copy buttons: <button data-copy="#input-id">. Shows "Copied" briefly; works without JS frameworks.
document.addEventListener("click", async (event) => {
  const button = event.target.closest("[data-copy]");
  if (!button) return;
  const field = document.querySelector(button.dataset.copy);
  if (!field) return;
  const text = field.value || field.textContent.trim();
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    field.select?.();
    document.execCommand("copy");
  }
  const label = button.textContent;
  button.textContent = button.dataset.copied || "✓";
  button.setAttribute("aria-live", "polite");
  setTimeout(() => { button.textContent = label; }, 1500);
});
