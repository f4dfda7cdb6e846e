// vitest setupFiles: each test file gets its own user host list (core/paths.ts userHostsPath), inherited by the CLI
// and servers it starts, so files running side by side never see each other's saved hosts, nor the developer's.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

process.env.FRACTAL_LLM_HOSTS = join(mkdtempSync(join(tmpdir(), "fractal-hosts-")), "hosts.sqlite");
