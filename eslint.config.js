// ESLint for the browser code (static/js): native ES modules in the browser, no build step.
// The one library the pages load by a classic <script> (socket.io's `io`) is the only global
// a module may read bare; everything else is imported (plotly is reached as window.Plotly).
import js from "@eslint/js";
import globals from "globals";

export default [
  { ignores: ["node_modules/", ".venv/", "tests/artifacts/"] },
  js.configs.recommended,
  {
    files: ["static/js/**/*.js"],
    languageOptions: {
      ecmaVersion: 2022,
      sourceType: "module",
      globals: { ...globals.browser, io: "readonly" },
    },
    rules: {
      "no-undef": "error",
      "no-unused-vars": ["error", { args: "after-used", caughtErrors: "none" }],
      eqeqeq: ["error", "always"],
      "no-implicit-globals": "error",
      "no-var": "error",
      "prefer-const": "error",
    },
  },
];
