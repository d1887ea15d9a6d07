/** A real PITR restore script for rollback tests (the runbook's restore_postgres.sh -t pitr -T <time>). */
import { join } from 'node:path';
import { PG_BIN, type PgCluster } from './postgres';

/**
 * The runbook's restore_postgres.sh -t pitr -T <time>, for real: stop the primary, put the base
 * backup back, replay the WAL archive up to the recovery time, promote.
 */
export function restoreScriptText(p: PgCluster, backupDir: string): string {
  const data = p.primary.dataDir;
  const socket = join(p.root, 'sock');
  return `#!/bin/bash
set -euo pipefail
[ "$1" = "-t" ] && [ "$2" = "pitr" ] && [ "$3" = "-T" ] || { echo "usage: restore_postgres.sh -t pitr -T TIME" >&2; exit 2; }
# PostgreSQL wants "2026-02-23 11:55:00+00" where the action hands over ISO-8601 "2026-02-23T11:55:00Z"
T="$(echo "$4" | sed 's/T/ /; s/Z$/+00/')"
as_pg() { runuser -u postgres -- "$@"; }
as_pg ${PG_BIN}/pg_ctl stop -D ${data} -m fast -w
find ${data} -mindepth 1 -delete
as_pg cp -a ${backupDir}/. ${data}/
cat >> ${data}/postgresql.auto.conf <<CONF
restore_command = 'cp ${p.archiveDir}/%f %p'
recovery_target_time = '$T'
recovery_target_action = 'promote'
CONF
chown postgres:postgres ${data}/postgresql.auto.conf
as_pg touch ${data}/recovery.signal
as_pg ${PG_BIN}/pg_ctl start -D ${data} -w -l ${p.root}/restore.log -o "-c port=${p.primary.port}" || { tail -n 5 ${p.root}/restore.log; exit 1; }
for i in $(seq 1 200); do
  [ "$(as_pg ${PG_BIN}/psql -h ${socket} -p ${p.primary.port} -Atc 'select pg_is_in_recovery()' postgres)" = f ] && break
  sleep 0.1
done
echo "restored to $4"
`;
}
