/** What the parts of a supervised run read of it while it runs. */
export interface SupervisedRunState {
  /** The pid of the process polythene spawned, once spawned. */
  spawnedPid(): number | undefined;
  /** True once the run has ended (resolved or rejected): every part stops acting. */
  isEnded(): boolean;
}
