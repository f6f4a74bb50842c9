/** What it takes to start one handler under a keeper (keeper.pl's L line, keeper-node.ts's stdin). */
export interface KeeperRequest {
  /** The dispatcher's number for this launch, echoed in S and F lines. */
  id: string;
  command: string;
  cwd: string;
  /** The handler's whole environment. */
  env: NodeJS.ProcessEnv;
  logPath: string;
  /** Bytes of output kept; the rest is counted and dropped. */
  logCap: number;
  /** Where the keeper records the run (run-file.ts). */
  runFile: string;
  /** This machine's boot id as the dispatcher names it (adopters compare it with theirs). */
  boot: string;
  /** 0: no timeout. */
  timeoutMs: number;
  /** Between TERM and KILL. */
  graceMs: number;
}
