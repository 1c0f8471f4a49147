import * as fs from "fs";

/**
 * The resident memory of a process and every process below it (children, their children...),
 * in bytes, read from /proc: what a machine gives `npm start` as a whole. Worker threads live
 * in their process's memory; child processes (esbuild's service, say) are added. Linux only:
 * undefined where /proc cannot be read.
 */
export function processTreeRss(rootPid: number): { bytes: number; processes: number } | undefined {
  const parents = new Map<number, number[]>();
  let entries: string[];
  try {
    entries = fs.readdirSync("/proc");
  } catch {
    return undefined;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const parent = parentOf(Number(entry));
    if (parent === undefined) continue;
    const children = parents.get(parent) ?? [];
    children.push(Number(entry));
    parents.set(parent, children);
  }
  let bytes = 0;
  let processes = 0;
  const pending = [rootPid];
  while (pending.length > 0) {
    const pid = pending.pop()!;
    const rss = rssOf(pid);
    if (rss === undefined) continue;
    bytes += rss;
    processes++;
    pending.push(...(parents.get(pid) ?? []));
  }
  return processes > 0 ? { bytes, processes } : undefined;
}

// /proc/<pid>/stat: "pid (comm) state ppid ...", where comm may hold spaces and parentheses.
function parentOf(pid: number): number | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
  } catch {
    return undefined; // it exited meanwhile
  }
}

function rssOf(pid: number): number | undefined {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
    const kilobytes = /^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1];
    return kilobytes === undefined ? undefined : Number(kilobytes) * 1024;
  } catch {
    return undefined;
  }
}
