// import.meta.env and asset imports, as Vite provides them to the demo page.
/// <reference types="vite/client" />
