package inventory

import (
	"fmt"
	"path"
	"strconv"
)

// Tail is the program a role's logs are read with through sudo: Debian's
// path, so that one exact sudoers line allows it.
const Tail = "/usr/bin/tail"

// SudoTailLines is the fixed line count of the tail commands run through
// sudo: a sudoers line allows exact words only, so opsui always asks for
// this many lines and keeps the ones it wants.
const SudoTailLines = 1000

// LogsSudo reports whether the role of settings s reads its logs through
// `sudo -n` (its options' logs_sudo: true): root-owned logs such as
// nginx's /var/log/nginx/error.log (0640 root:adm).
func (s RoleSettings) LogsSudo() bool { return s.Options["logs_sudo"] == "true" }

// SudoTailCommands are the command lines that read the log file p through
// sudo: the follow (tail -F, its last SudoTailLines lines first) and the
// one-off read of its last lines (opsui logs --errors). Each is literal,
// and allows nothing but reading p.
func SudoTailCommands(p string) (follow, read []string) {
	n := strconv.Itoa(SudoTailLines)
	return []string{Tail, "-n", n, "-F", p}, []string{Tail, "-n", n, p}
}

// SudoLogProblem says why the log path p cannot be read through sudo with
// an exact sudoers line; "" when it can.
func SudoLogProblem(p string) string {
	if !path.IsAbs(p) || path.Clean(p) != p {
		return fmt.Sprintf("log %q is read through sudo (logs_sudo: true), so it must be a clean absolute path", p)
	}
	if !sudoWord.MatchString(p) {
		return fmt.Sprintf("log %q is read through sudo (logs_sudo: true), so it must be a literal path (no spaces, quotes, $ or globs) that a sudoers line can name exactly", p)
	}
	return ""
}
