#!/usr/bin/env node
// The `taskwire` command. A committed launcher (npm links a bin only if its file exists at install time,
// and dist/ is built later): it runs the built CLI, or says how to build it in a source checkout.
try {
  await import("../dist/bin.js");
} catch (error) {
  if (error?.code !== "ERR_MODULE_NOT_FOUND" || !String(error.message).includes("dist/bin.js")) throw error;
  process.stderr.write(
    "taskwire: the CLI is not built yet; run `npm run build` in the Taskwire checkout first.\n",
  );
  process.exitCode = 1;
}
