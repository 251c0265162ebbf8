package deploy

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops/remote"
	"github.com/opsui/opsui/store"
)

// EnvFile is one host's shared/.env as rendered on the operator's machine.
// Content holds secrets: it goes to the host on the SSH session's standard
// input, and nowhere else.
type EnvFile struct {
	Content []byte
	// Hashes are what the store keeps of it: one keyed hash per value.
	Hashes []store.EnvHash
}

// RenderEnv renders app's environment on host h (inventory.App.EnvFor),
// resolving its secrets: one `KEY=value` line per key, sorted, each value
// one POSIX shell word (remote.Quote), so that `set -a; . shared/.env`
// and Python's shlex read it back exactly.
func RenderEnv(ctx context.Context, app inventory.App, h inventory.Host, sec *Secrets, hashKey []byte) (EnvFile, error) {
	env := app.EnvFor(h)
	var b strings.Builder
	b.WriteString("# Rendered by opsui for app " + app.Name + " on host " + h.Name + ": edits are replaced by the next deploy.\n")
	var f EnvFile
	for _, k := range inventory.EnvKeys(env) {
		v := env[k]
		val := v.Value
		if v.IsSecret() {
			var err error
			if val, err = sec.Resolve(ctx, app, v.Secret); err != nil {
				return EnvFile{}, fmt.Errorf("env %s on %s: %w", k, h.Name, err)
			}
		}
		b.WriteString(k + "=" + remote.Quote(val) + "\n")
		f.Hashes = append(f.Hashes, store.EnvHash{Host: h.Name, Name: k, Hash: HashEnvValue(hashKey, k, val), Secret: v.Secret})
	}
	f.Content = []byte(b.String())
	return f, nil
}

// HashEnvValue is the keyed hash the store keeps of value of key: equal
// values of one key hash equal under one store's key, and the hash tells
// nothing of the value without it.
func HashEnvValue(key []byte, name, value string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(name))
	m.Write([]byte{0})
	m.Write([]byte(value))
	return hex.EncodeToString(m.Sum(nil))
}

// ParseEnvFile reads a shared/.env back: KEY=WORD lines, the word plain,
// 'single-quoted' or "double-quoted" (with \" \\ \$ \` escapes) parts, as
// RenderEnv writes them or a hand edit likely does; blank lines and
// comments are skipped. A line it cannot read is returned in bad (its
// number), not guessed at.
func ParseEnvFile(content string) (env map[string]string, bad []int) {
	env = map[string]string{}
	lines := strings.Split(content, "\n")
	for i := 0; i < len(lines); i++ {
		line := strings.TrimSpace(lines[i])
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		start := i + 1
		line = strings.TrimPrefix(line, "export ")
		k, rest, ok := strings.Cut(line, "=")
		if !ok || !envNameOK(k) {
			bad = append(bad, start)
			continue
		}
		// A quoted value may span lines: join until it closes.
		val, done := unquoteWord(rest)
		for !done && i+1 < len(lines) {
			i++
			rest += "\n" + lines[i]
			val, done = unquoteWord(rest)
		}
		if !done {
			bad = append(bad, start)
			continue
		}
		env[k] = val
	}
	return env, bad
}

func envNameOK(k string) bool {
	if k == "" {
		return false
	}
	for i, r := range k {
		if !(r == '_' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || i > 0 && r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// unquoteWord reads one shell word; done is false when a quote is still
// open (or something follows the word other than a comment).
func unquoteWord(s string) (string, bool) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return "", false
			}
			b.WriteString(s[i+1 : i+1+j])
			i += j + 1
		case '"':
			i++
			for ; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' && i+1 < len(s) && strings.IndexByte("\"\\$`", s[i+1]) >= 0 {
					i++
				}
				b.WriteByte(s[i])
			}
			if i >= len(s) {
				return "", false
			}
		case '\\':
			if i+1 < len(s) {
				i++
				b.WriteByte(s[i])
			}
		case ' ', '\t':
			rest := strings.TrimSpace(s[i:])
			return b.String(), rest == "" || strings.HasPrefix(rest, "#")
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), true
}

// envFileName is where the app's environment lives on a host, under deploy_to.
const envFileName = "shared/.env"

// loadEnvPrelude starts each recipe of an app that declares an
// environment (OPSUI_ENV_FILE is then its shared/.env): every variable of
// the file is exported to the recipe and whatever it starts (collectstatic,
// migrate, gunicorn's first start, the app's own stages). An app without
// one is left as it was: a shared/.env of its own is not read.
const loadEnvPrelude = `if [ -n "${OPSUI_ENV_FILE-}" ]; then
  if [ ! -r "$OPSUI_ENV_FILE" ]; then echo "opsui: $OPSUI_ENV_FILE is missing or unreadable on $(uname -n): deploy the app to render it" >&2; exit 1; fi
  set -a; . "$OPSUI_ENV_FILE"; set +a
fi
`

// withEnv prefixes a recipe with the loading of the app's environment.
func withEnv(script string) string { return loadEnvPrelude + script }

// renderEnvScript writes shared/.env from standard input: a private
// temporary file (umask 077, chmod 600), renamed over the old one, so a
// reader sees the old file or the new one, never a part; the deploy user
// writes it, so owns it. It also writes OPSUI_GUNICORN_CONF
// (GunicornEnvConf) beside it.
const renderEnvScript = `set -e
mkdir -p -- "$SHARED_DIR"
umask 077
tmp=$SHARED_DIR/.env.opsui-tmp.$$
trap 'rm -f -- "$tmp"' EXIT
cat > "$tmp"
chmod 600 -- "$tmp"
mv -f -- "$tmp" "$SHARED_DIR/.env"
conf=$SHARED_DIR/opsui_gunicorn.conf.py
printf '%s' "$OPSUI_GUNICORN_CONF" > "$conf.tmp.$$"
mv -f -- "$conf.tmp.$$" "$conf"
trap - EXIT
echo "shared/.env written: $OPSUI_ENV_KEYS keys, mode 600, owner $(id -un)"
`

// GunicornEnvConf is the gunicorn configuration (-c) opsui starts the
// app server of an app living in deployTo with, when the app declares an
// environment. gunicorn reads its configuration file again on every HUP
// and puts raw_env into the master's environment before it forks the new
// workers: so a reload, not only a start, applies a changed shared/.env
// (a master's own environment is fixed when it starts). It runs the
// release's own gunicorn.conf.py first, through current, so that keeps
// working. The paths are JSON strings, which Python reads as its own.
func GunicornEnvConf(deployTo string) string {
	deployTo = strings.TrimRight(deployTo, "/")
	lit := func(s string) string { b, _ := json.Marshal(s); return string(b) }
	return `# Rendered by opsui: the release's gunicorn.conf.py (through current), then
# shared/.env as raw_env; gunicorn reads this again on every HUP.
import os as _os, shlex as _shlex
_own = ` + lit(deployTo+"/current/gunicorn.conf.py") + `
` + pyRunOwn("_opsui_env_file") + `raw_env = list(globals().get("raw_env") or [])
with open(` + lit(deployTo+"/"+envFileName) + `) as _f:
    raw_env += [_w for _w in _shlex.split(_f.read(), comments=True) if "=" in _w]
`
}
