import type { Section } from "../section";
export const recoverySection: Section = {
  name: "recovery",
  async run() {
    return { rows: [], samples: [] };
  },
};
