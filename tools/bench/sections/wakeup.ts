import type { Section } from "../section";
export const wakeupSection: Section = {
  name: "wakeup",
  async run() {
    return { rows: [], samples: [] };
  },
};
