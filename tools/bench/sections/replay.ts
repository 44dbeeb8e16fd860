import type { Section } from "../section";
export const replaySection: Section = {
  name: "replay",
  async run() {
    return { rows: [], samples: [] };
  },
};
