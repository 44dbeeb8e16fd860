import type { Section } from "../section";
export const sseSection: Section = {
  name: "sse",
  async run() {
    return { rows: [], samples: [] };
  },
};
