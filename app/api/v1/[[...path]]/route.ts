import { notFoundHandlers } from "../_lib/http";

// Unknown paths under /api/v1 answer in the API's error shape, not with the HTML 404 page.
export const { GET, HEAD, POST, PUT, DELETE, PATCH, OPTIONS } = notFoundHandlers();
