/* Starts Swagger UI on /docs from the gateway's own copy of its assets. */
window.addEventListener("load", function () {
  "use strict";
  window.ui = window.SwaggerUIBundle({ url: "/openapi.json", dom_id: "#swagger-ui", deepLinking: true,
    presets: [window.SwaggerUIBundle.presets.apis], layout: "BaseLayout" });
});
