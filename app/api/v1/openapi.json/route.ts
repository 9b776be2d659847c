import { json, routeHandlers } from "../_lib/http";
import { openApiDocument } from "../_lib/openapi";

export const { GET, HEAD, POST, PUT, DELETE, PATCH, OPTIONS } = routeHandlers(
  {
    async GET() {
      return json(200, openApiDocument());
    },
  },
  { checksDatabase: false },
);
