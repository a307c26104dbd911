#!/usr/bin/env bash
# A single-node Slurm cluster on this machine, loopback only: its own munged, slurmctld and
# slurmd from Debian's packages (bash scripts/install_slurm.sh), one node `localhost`
# (127.0.0.1, CPUs=2, no GPUs), one partition `debug`. For the tests of tools/slurm_*.sh
# (tests/test_distributed/test_slurm.py) and for trying them by hand.
#
#   bash scripts/slurm_cluster.sh start     # idempotent: starts what is not running
#   bash scripts/slurm_cluster.sh status    # exit 0 when munged, slurmctld, slurmd are up
#   bash scripts/slurm_cluster.sh stop      # idempotent: stops the daemons it started
#   bash scripts/slurm_cluster.sh env       # eval "$(bash scripts/slurm_cluster.sh env)"
#
# Everything lives in $SLURM_CLUSTER_DIR (default /tmp/mmdatasetdm-slurm): slurm.conf, the
# munge key and socket, the daemons' state, pid and log files, and jobcomp.log (one line per
# finished job, read by `sacct --completion`). Nothing under /etc is touched; client commands
# find the cluster through $SLURM_CONF. Ports: $SLURM_CLUSTER_PORT (slurmctld, default 16817)
# and the next one (slurmd). Finished jobs stay visible to `scontrol show job` for
# MinJobAge=3600 s (there is no slurmdbd; `sacct --completion` reads jobcomp.log).
set -euo pipefail

DIR=${SLURM_CLUSTER_DIR:-/tmp/mmdatasetdm-slurm}
CTLD_PORT=${SLURM_CLUSTER_PORT:-16817}
SLURMD_PORT=$((CTLD_PORT + 1))
NODE=localhost
PARTITION=debug
CPUS=${SLURM_CLUSTER_CPUS:-2}
CONF=$DIR/slurm.conf
MUNGE_SOCKET=$DIR/munge/munge.socket
export SLURM_CONF=$CONF
PATH=$PATH:/usr/sbin:/sbin

log() { echo "slurm_cluster: $*" >&2; }

pid_alive() {  # pid_alive PIDFILE: the pid in the file is a live process
    [[ -s $1 ]] && kill -0 "$(cat "$1")" 2>/dev/null
}

write_conf() {
    cat > "$CONF" <<EOF
# Written by scripts/slurm_cluster.sh: a one-node cluster on the loopback interface.
ClusterName=mmdatasetdm
SlurmctldHost=$NODE(127.0.0.1)
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
SlurmUser=$(id -un)
SlurmdUser=$(id -un)
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$MUNGE_SOCKET
CommunicationParameters=NoInAddrAny
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/slurmctld.pid
SlurmdPidFile=$DIR/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/pgid
TaskPlugin=task/none
MpiDefault=none
SwitchType=switch/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
SlurmdParameters=config_overrides
ReturnToService=2
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/filetxt
JobCompLoc=$DIR/jobcomp.log
MinJobAge=3600
KillWait=5
InactiveLimit=0
Waittime=0
NodeName=$NODE NodeHostname=$NODE NodeAddr=127.0.0.1 CPUs=$CPUS State=UNKNOWN
PartitionName=$PARTITION Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
EOF
}

wait_for() {  # wait_for SECONDS DESCRIPTION COMMAND...
    local timeout=$1 what=$2
    shift 2
    local end=$((SECONDS + timeout))
    until "$@" >/dev/null 2>&1; do
        if [[ $SECONDS -ge $end ]]; then
            log "timed out after ${timeout} s waiting for $what"
            return 1
        fi
        sleep 0.5
    done
}

node_state() { sinfo -h -N -n "$NODE" -o %t 2>/dev/null | head -n1; }
node_ready() { [[ $(node_state) =~ ^(idle|mix|alloc)$ ]]; }

start() {
    local missing=()
    for bin in munged slurmctld slurmd sinfo srun scontrol; do
        command -v "$bin" >/dev/null 2>&1 || missing+=("$bin")
    done
    if [[ ${#missing[@]} -gt 0 ]]; then
        log "missing ${missing[*]}: run bash scripts/install_slurm.sh first"
        return 2
    fi
    mkdir -p "$DIR/state" "$DIR/spool" "$DIR/log" "$DIR/munge"
    chmod 700 "$DIR/munge"

    if ! pid_alive "$DIR/munge/munged.pid"; then
        if [[ ! -s $DIR/munge/munge.key ]]; then
            dd if=/dev/urandom of="$DIR/munge/munge.key" bs=1024 count=1 status=none
            chmod 400 "$DIR/munge/munge.key"
        fi
        rm -f "$MUNGE_SOCKET"
        munged --force --socket="$MUNGE_SOCKET" --key-file="$DIR/munge/munge.key" \
            --pid-file="$DIR/munge/munged.pid" --log-file="$DIR/log/munged.log" \
            --seed-file="$DIR/munge/munged.seed" --num-threads=2
        wait_for 20 munged test -S "$MUNGE_SOCKET"
    fi

    # A running controller keeps the configuration it was started with.
    if ! pid_alive "$DIR/slurmctld.pid"; then
        write_conf
        # -i: ignore state files of an earlier run whose config differed
        slurmctld -f "$CONF" -i
        wait_for 30 slurmctld scontrol ping
    fi
    if ! pid_alive "$DIR/slurmd.pid"; then
        slurmd -f "$CONF" -N "$NODE"
    fi
    if ! wait_for 60 "node $NODE to register" node_ready; then
        # a node left DOWN/DRAIN by an earlier unclean stop comes back on request
        scontrol update NodeName="$NODE" State=RESUME >/dev/null 2>&1 || true
        if ! wait_for 30 "node $NODE to resume" node_ready; then
            log "node state: $(node_state); see $DIR/log/"
            return 1
        fi
    fi
    log "up: partition $PARTITION, node $NODE ($CPUS CPUs); export SLURM_CONF=$CONF"
}

stop_daemon() {  # stop_daemon NAME PIDFILE
    local name=$1 pidfile=$2 pid
    if ! pid_alive "$pidfile"; then
        rm -f "$pidfile"
        return 0
    fi
    pid=$(cat "$pidfile")
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 60); do
        kill -0 "$pid" 2>/dev/null || { rm -f "$pidfile"; return 0; }
        sleep 0.25
    done
    log "$name ($pid) ignored SIGTERM for 15 s; SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    rm -f "$pidfile"
}

stop() {
    if pid_alive "$DIR/slurmctld.pid"; then
        scancel --full --partition="$PARTITION" >/dev/null 2>&1 || true
    fi
    stop_daemon slurmd "$DIR/slurmd.pid"
    stop_daemon slurmctld "$DIR/slurmctld.pid"
    stop_daemon munged "$DIR/munge/munged.pid"
    log "stopped (logs and state kept in $DIR)"
}

status() {
    local rc=0
    for item in "munged:$DIR/munge/munged.pid" "slurmctld:$DIR/slurmctld.pid" \
                "slurmd:$DIR/slurmd.pid"; do
        if pid_alive "${item#*:}"; then
            echo "${item%%:*}: running (pid $(cat "${item#*:}"))"
        else
            echo "${item%%:*}: stopped"
            rc=1
        fi
    done
    if [[ $rc -eq 0 ]]; then
        sinfo -N -o '%N %P %t %c' 2>&1 || rc=1
    fi
    return $rc
}

case ${1:-} in
    start) start ;;
    stop) stop ;;
    status) status ;;
    env) echo "export SLURM_CONF=$CONF" ;;
    *) echo "usage: $0 start|stop|status|env" >&2; exit 2 ;;
esac
