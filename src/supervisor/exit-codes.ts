/**
 * Process exit codes of the gateway and its worker processes (docs/operations.md, "Exit codes").
 * systemd units use them: `RestartPreventExitStatus=2 3` keeps systemd from restarting a gateway
 * whose configuration is invalid or whose workers cannot start. A broker that is not up is not
 * one of those: the workers wait for it (the gateway stays up, /healthz says `broker: unreachable`).
 */

/** A worker process that could not start (bad plugin, unreadable store): the supervisor counts it as `start-failed`. */
export const START_FAILED_EXIT_CODE = 3;

/** The gateway drained and stopped: SIGTERM/SIGINT handled. */
export const GATEWAY_STOPPED_EXIT_CODE = 0;

/** The gateway gave up: restart intensity exceeded (the log and stderr say which worker failed, and how). */
export const GATEWAY_GAVE_UP_EXIT_CODE = 3;

/** The gateway stopped but some worker had to be killed after the grace period. */
export const GATEWAY_UNCLEAN_STOP_EXIT_CODE = 1;
