/** The supervisor: `paygate gateway`'s pool of worker processes (docs/operations.md). */
export { Supervisor, type SupervisorOptions, type SupervisorEvents, type SupervisorExit, type WorkerInfo } from './supervisor.ts';
export { SupervisorError, SUPERVISOR_ERROR_CODES, type SupervisorErrorCode } from './errors.ts';
export { RestartPolicy, type RestartDecision } from './restart-policy.ts';
export { GATEWAY_GAVE_UP_EXIT_CODE, GATEWAY_STOPPED_EXIT_CODE, GATEWAY_UNCLEAN_STOP_EXIT_CODE, START_FAILED_EXIT_CODE } from './exit-codes.ts';
export type { PoolHealth } from './health.ts';
