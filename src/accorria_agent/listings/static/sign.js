// The sign page's only script: the Print button (inline handlers are forbidden by the page's CSP).
document.getElementById("print-sign")?.addEventListener("click", () => window.print());
