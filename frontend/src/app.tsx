import { useState } from "preact/hooks";
import { navigate, parseRoute, usePath } from "./router";
import { savedTheme, saveTheme, type Theme } from "./storage";
import { Home } from "./home";
import { BinPage } from "./bin";
import { Empty, Toasts } from "./ui";

function applyTheme(t: Theme) {
  document.documentElement.setAttribute("data-theme", t);
}

export function App() {
  const path = usePath();
  const route = parseRoute(path);
  const [theme, setTheme] = useState<Theme>(() => {
    const t = savedTheme();
    applyTheme(t); // before the first paint: no flash of the wrong theme
    return t;
  });
  const toggle = () => {
    const t = theme === "dark" ? "light" : "dark";
    saveTheme(t);
    applyTheme(t);
    setTheme(t);
  };
  return (
    <div class="app">
      <header class="topbar">
        <a
          class="logo"
          href="/"
          onClick={(e) => {
            e.preventDefault();
            navigate("/");
          }}
        >
          <span class="logo-mark" aria-hidden="true">
            ◆
          </span>
          hookscope
        </a>
        <div class="topbar-fill" />
        <button type="button" class="btn btn-ghost theme-toggle" onClick={toggle} aria-label="Toggle theme" title="Toggle dark/light theme">
          {theme === "dark" ? "☀ Light" : "☾ Dark"}
        </button>
      </header>
      {route.page === "home" && <Home />}
      {route.page === "bin" && <BinPage key={route.bin} route={route} theme={theme} />}
      {route.page === "notfound" && (
        <main class="page">
          <Empty title="Page not found">
            <a href="/" onClick={(e) => (e.preventDefault(), navigate("/"))}>
              Back home
            </a>
          </Empty>
        </main>
      )}
      <Toasts />
    </div>
  );
}
