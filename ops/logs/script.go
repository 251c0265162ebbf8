package logs

import (
	"fmt"
	"path"
	"strconv"
	"strings"

	"github.com/opsui/opsui/ops/remote"
)

// markerPrefix starts the line each follow script prints before tail -F
// starts, followed by a per-connection nonce, so no line of a file can pass
// for it.
const markerPrefix = "@@opsui-"

// startScript is the remote command of a file's first follow. It reads the
// last n lines through a descriptor it keeps and that descriptor's offset
// from /proc (where the lines ended), then prints the start marker with the
// file's identity and that offset, the lines, and the backlog-end marker,
// and follows from exactly that offset: no line appended in between is lost
// or shown twice. The marker comes first so that a connection that drops
// while the backlog is on its way is resumed from a known offset, never
// started again (which would show lines twice and lose those written while
// the host was down).
//
// Where the offset cannot be read (no /proc), it follows from the end (tail
// -F -n 0) and the offset stays unknown; a missing file is followed from
// its start once it appears.
func startScript(path, nonce string, n int) string {
	name, _ := tailName(path, nonce)
	var dump string
	if n > 0 {
		// The lines, a newline, then "@" and the offset as the last line:
		// command substitution drops trailing newlines, the "@" keeps the
		// last line apart from the lines even when /proc is missing.
		dump = fmt.Sprintf(`r=$( { exec 4<"$f" && tail -n %d <&4 && printf '\n@' && sed -n 's/^pos:[[:space:]]*//p' /proc/self/fdinfo/4; } 2>/dev/null ); `, n) +
			`case $r in *"$nl@"*) p=${r##*"$nl@"}; b=${r%"$nl@"*} ;; *) p=; b= ;; esac`
	} else {
		dump = `p=$(stat -L -c %s -- "$f" 2>/dev/null); b=`
	}
	return strings.Join([]string{
		"LC_ALL=C; export LC_ALL",
		"f=" + remote.Quote(path) + "; t=" + remote.Quote(name) + "; nl=" + remote.Quote("\n"),
		dump,
		`i=$(stat -L -c %d:%i -- "$f" 2>/dev/null)`,
		fmt.Sprintf(`printf '%s%s %%s %%s 0 start\n' "${i:--}" "${p:--}"`, markerPrefix, nonce),
		`case $b in '') ;; *"$nl") printf '%s' "$b" ;; *) printf '%s\n' "$b" ;; esac`,
		fmt.Sprintf(`printf '%s%s - - 0 %s\n'`, markerPrefix, nonce, backlogEnd),
		`if [ -n "$p" ]; then exec tail -F -c +$((p+1)) -- "$t" 2>&1; ` +
			`elif [ -n "$i" ]; then exec tail -F -n 0 -- "$t" 2>&1; ` +
			`else exec tail -F -c +1 -- "$t" 2>&1; fi`,
	}, "\n")
}

// backlogEnd is the reason of the marker that ends a start's backlog.
const backlogEnd = "backlog-end"

// resumeScript is the remote command of a follow that resumes after a
// drop: it compares the file with what was shown (its identity id, "?" for
// unknown, and the offset off, -1 for unknown) and follows from off when it
// is the same file, grown; from the start when it was replaced or
// truncated; from the end when the offset is unknown. At most limit bytes
// are caught up; beyond that it skips ahead. The marker says which case it
// was, with the file's size.
func resumeScript(path, nonce, id string, off, limit int64) string {
	name, _ := tailName(path, nonce)
	return strings.Join([]string{
		"LC_ALL=C; export LC_ALL",
		"f=" + remote.Quote(path) + "; t=" + remote.Quote(name),
		fmt.Sprintf("o=%d; w=%s; l=%d", off, remote.Quote(id), limit),
		`i=$(stat -L -c %d:%i -- "$f" 2>/dev/null); s=$(stat -L -c %s -- "$f" 2>/dev/null)`,
		`if [ -z "$s" ]; then p=0; s=0; r=absent; ` +
			`elif [ "$o" -lt 0 ]; then p=$s; r=unknown; ` +
			`elif [ "$w" != "?" ] && [ "$i" != "$w" ]; then p=0; r=replaced; ` +
			`elif [ "$s" -lt "$o" ]; then p=0; r=truncated; ` +
			`else p=$o; r=same; fi`,
		`if [ $((s-p)) -gt "$l" ]; then p=$((s-l)); r=$r-capped; fi`,
		fmt.Sprintf(`printf '%s%s %%s %%s %%s %%s\n' "${i:--}" "$p" "$s" "$r"`, markerPrefix, nonce),
		`exec tail -F -c +$((p+1)) -- "$t" 2>&1`,
	}, "\n")
}

// marker is the parsed marker line.
type marker struct {
	id     string // "dev:ino", "-" when the file is missing
	pos    int64  // where the follow starts, -1 when unknown
	size   int64  // the file's size (resume only)
	reason string // start, same, replaced, truncated, absent, unknown (+"-capped")
}

// parseMarker parses the marker line of the given nonce.
func parseMarker(text, nonce string) (marker, bool) {
	rest, ok := strings.CutPrefix(text, markerPrefix+nonce+" ")
	if !ok {
		return marker{}, false
	}
	f := strings.Fields(rest)
	if len(f) != 4 {
		return marker{}, false
	}
	m := marker{id: f[0], pos: -1, reason: f[3]}
	if p, err := strconv.ParseInt(f[1], 10, 64); err == nil {
		m.pos = p
	}
	m.size, _ = strconv.ParseInt(f[2], 10, 64)
	return m, true
}

// describe is the text of the reconnected marker.
func (m marker) describe() string {
	missed := max(0, m.size-m.pos)
	base, capped := strings.CutSuffix(m.reason, "-capped")
	var s string
	switch base {
	case "same":
		if missed == 0 {
			s = "reconnected: nothing was written meanwhile"
		} else {
			s = fmt.Sprintf("reconnected: catching up %s written meanwhile", bytesText(missed))
		}
	case "replaced":
		s = fmt.Sprintf("reconnected: the file was replaced meanwhile; showing the new one from its start (%s). "+
			"Lines added to the old file after the drop are not shown", bytesText(missed))
	case "truncated":
		s = fmt.Sprintf("reconnected: the file was truncated meanwhile; showing it from its start (%s)", bytesText(missed))
	case "absent":
		s = "reconnected: the file does not exist; waiting for it"
	case "unknown":
		s = "reconnected: the position in the file was unknown; showing new lines only (lines written meanwhile are not shown)"
	default:
		s = "reconnected (" + m.reason + ")"
	}
	if capped {
		s += "; over the catch-up limit, so only the last " + bytesText(missed) + " are shown"
	}
	return s
}

func bytesText(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}

// tailName returns the name tail follows path by, and the tag in it: the
// same file, with a run of "/" and "./" between its directory and its base
// name that spells the bits of the follow's nonce. tail's stderr is merged
// into the stream (to keep its messages in order with the data), and every
// message it writes about the file quotes that name, so a line of the file
// itself cannot pass for one without knowing the nonce.
func tailName(p, nonce string) (name, tag string) {
	dir, base := path.Split(p)
	var b strings.Builder
	if dir == "" {
		b.WriteString("./") // a relative name stays relative
	}
	for _, c := range nonce {
		v, _ := strconv.ParseUint(string(c), 16, 8)
		for bit := 3; bit >= 0; bit-- {
			if v>>bit&1 == 1 {
				b.WriteString("./")
			} else {
				b.WriteString("/")
			}
		}
	}
	tag = b.String()
	return dir + tag + base, tag
}

// tailMessage classifies a line that may be tail's own (its stderr is
// merged into the stream): only a line naming the file by the follow's
// tagged name (tailName) is, and its text is given back with the plain
// name. reset says the follow now reads a new file or the file from its
// start. tail's few messages about itself (inotify) name no file: they
// are notices, never a reset.
func tailMessage(text, tag string) (kind Kind, shown string, reset bool, ok bool) {
	if !strings.HasPrefix(text, "tail: ") {
		return 0, "", false, false
	}
	if !strings.Contains(text, tag) {
		if strings.HasPrefix(text, "tail: inotify ") {
			return KindNotice, text, false, true
		}
		return 0, "", false, false // the file's own text
	}
	shown = strings.Replace(text, tag, "", 1)
	switch {
	case strings.HasSuffix(text, "following new file"): // "has been replaced;" or "has appeared;"
		return KindRotated, shown, true, true
	case strings.HasSuffix(text, "file truncated"):
		return KindRotated, shown, true, true
	}
	return KindNotice, shown, false, true
}
