// Scenario 6: what a deploy runs, read from the SST program (sst.config.ts and infra/), not
// measured. Direct mode's promise is that switchyard runs nothing always-on of its own: the API and
// the worker are Lambda functions, the engine calls the worker. So every long-running service that
// is switchyard's own (an ECS/Fargate service not running Hatchet's image) must exist only when the
// deploy's delivery setting asks for relay mode. The check reads the source text: a service counts
// as conditional on the delivery setting when the statement that creates it, the variable its
// condition names, or sst.config.ts's import of its module mentions the delivery setting.
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { ROOT } from "../lib/stack.ts";

export interface ServiceFinding {
  name: string;
  file: string;
  /** Hatchet's engine (its image) or switchyard's own process. */
  owner: "hatchet" | "switchyard";
  /** Created under a condition at all (e.g. self-hosting the engine). */
  conditional: boolean;
  /** That condition, or the import of its module, depends on the delivery setting. */
  onDeliverySetting: boolean;
  /** Where that dependence was found: the statement that creates it, or sst.config.ts's import of its module. */
  via?: "statement" | "import";
}

export interface DeploymentResult {
  files: string[];
  services: ServiceFinding[];
  /** Files that mention the delivery setting (SWITCHYARD_DELIVERY, `delivery`). */
  deliveryMentionedIn: string[];
  /** switchyard's own services that a direct-mode deploy would still run. */
  alwaysOn: string[];
  /** Other things a direct-mode deploy needs that the SST program does not do (informative). */
  gaps: string[];
  met: boolean;
}

const SERVICE = /new\s+(sst\.aws\.Service|aws\.ecs\.Service)\(\s*"([^"]+)"/g;
const CONDITION = /\?|&&|\bif\s*\(/;
const DELIVERY = /SWITCHYARD_DELIVERY|deliver(y|Mode)/;

/** The text of the call that starts at `from` (up to its closing parenthesis). */
function callText(text: string, from: number): string {
  let depth = 0;
  for (let i = text.indexOf("(", from); i < text.length; i++) {
    if (text[i] === "(") depth++;
    else if (text[i] === ")" && --depth === 0) return text.slice(from, i + 1);
  }
  return text.slice(from);
}

/** From the start of the top-level statement that contains `at` (a line without indentation) to `at`. */
function statementBefore(text: string, at: number): string {
  const before = text.slice(0, at);
  const starts = [...before.matchAll(/\n(?=\S)/g)];
  const start = (starts[starts.length - 1]?.index ?? -1) + 1;
  return before.slice(start);
}

/** Whether the identifiers a condition names are defined from the delivery setting in this file. */
function namesDelivery(text: string, condition: string): boolean {
  if (DELIVERY.test(condition)) return true;
  const names = [...condition.replace(/^[^=]*=/, "").matchAll(/\b([A-Za-z_$][\w$]*)\b/g)].map((m) => m[1]);
  return names.some((n) => {
    const def = new RegExp(`(?:const|let|var)\\s+${n}\\s*=([^;]*)`).exec(text);
    return def?.[1] !== undefined && DELIVERY.test(def[1]);
  });
}

/** sst.config.ts's import of `file`: whether it sits under a condition on the delivery setting. */
function importOnDelivery(config: string, file: string): boolean {
  const at = config.indexOf(`./${file}`);
  if (at === -1) return false;
  const stmt = config.slice(config.lastIndexOf(";", at) + 1, at);
  return CONDITION.test(stmt) && namesDelivery(config, stmt);
}

export async function runDeployment(): Promise<DeploymentResult> {
  const config = await readFile(join(ROOT, "sst.config.ts"), "utf8");
  const infraFiles = (await readdir(join(ROOT, "infra"))).filter((f) => f.endsWith(".ts")).sort();
  const texts = new Map<string, string>([["sst.config.ts", config]]);
  for (const f of infraFiles) texts.set(`infra/${f}`, await readFile(join(ROOT, "infra", f), "utf8"));

  const services: ServiceFinding[] = [];
  for (const [file, text] of texts) {
    for (const m of text.matchAll(SERVICE)) {
      const at = m.index ?? 0;
      const stmt = statementBefore(text, at);
      const conditional = CONDITION.test(stmt);
      const byStatement = conditional && namesDelivery(text, stmt);
      const byImport = !byStatement && importOnDelivery(config, file);
      services.push({
        name: m[2] ?? "?",
        file,
        owner: /hatchet-dev\/hatchet|hatchet-lite/.test(callText(text, at)) ? "hatchet" : "switchyard",
        conditional,
        onDeliverySetting: byStatement || byImport,
        ...(byStatement ? { via: "statement" as const } : byImport ? { via: "import" as const } : {}),
      });
    }
  }
  const alwaysOn = services.filter((s) => s.owner === "switchyard" && !s.onDeliverySetting);

  const gaps: string[] = [];
  const worker = texts.get("infra/worker.ts") ?? "";
  if (!worker.includes("HATCHET_CLIENT_TOKEN")) {
    gaps.push("the worker function's environment has no HATCHET_CLIENT_TOKEN (in direct mode it hands over next jobs)");
  }
  const registrar = await readFile(join(ROOT, "functions", "register-worker.ts"), "utf8").catch(() => "");
  if (![...texts.values(), registrar].some((t) => /ensureOperator|createOperator/.test(t))) {
    gaps.push("no deploy step registers the engine's HTTP operator (functions/register-worker.ts, infra/)");
  }
  return {
    files: [...texts.keys()],
    services,
    deliveryMentionedIn: [...texts].filter(([, t]) => DELIVERY.test(t)).map(([f]) => f),
    alwaysOn: alwaysOn.map((s) => `${s.name} (${s.file})`),
    gaps,
    met: alwaysOn.length === 0,
  };
}
