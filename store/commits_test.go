package store

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/opsui/opsui/internal/pgtest"
)

func TestHexSuccessor(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"ab", "ac", true}, {"ab9", "aba", true}, {"abf", "ac", true}, {"0", "1", true}, {"9f", "a", true}, {"f", "", false}, {"fff", "", false},
	} {
		if got, ok := hexSuccessor(tc.in); got != tc.want || ok != tc.ok {
			t.Errorf("hexSuccessor(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

// TestReleasesByCommitPrefix finds releases by any prefix of their commit,
// at the edges of the range it asks (a prefix ending in 9 or f, a prefix of
// only f's, the whole hash, upper case), and nothing for a non-hex prefix.
func TestReleasesByCommitPrefix(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	commits := []string{"9f00aa", "9f0a00", "a00000", "ab9fff", "aba000", "ff1200", "ffff00"}
	for i, c := range commits {
		r := Release{App: "shop", Env: "production", ReleaseID: fmt.Sprintf("2026110112%04d", i), Commit: c + strings.Repeat("0", 34), Operator: "alice"}
		if err := s.CreateRelease(ctx, &r, []string{"web1"}); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		prefix string
		want   []string
	}{
		{"9f0", []string{"9f0a00", "9f00aa"}},
		{"9f00", []string{"9f00aa"}},
		{"ab9", []string{"ab9fff"}},
		{"ab", []string{"aba000", "ab9fff"}},
		{"f", []string{"ffff00", "ff1200"}},
		{"fff", []string{"ffff00"}},
		{"AB9F", []string{"ab9fff"}},
		{"a00000" + strings.Repeat("0", 34), []string{"a00000"}},
		{"abg", nil},
		{"", nil},
	} {
		rs, err := s.ReleasesByCommit(ctx, tc.prefix)
		if err != nil {
			t.Fatalf("%q: %v", tc.prefix, err)
		}
		var got []string
		for _, r := range rs {
			got = append(got, r.Commit[:6])
		}
		if strings.Join(got, " ") != strings.Join(tc.want, " ") {
			t.Errorf("prefix %q: %v, want %v", tc.prefix, got, tc.want)
		}
	}
}

// TestReleasesByCommitUsesTheIndexOnPostgres: the team's store answers
// `releases --commit` from the commit index, not by reading every
// release, on a server whose collation is not C (a team's usual
// en-US): there starts_with and LIKE cannot use a btree index, and a
// range can.
func TestReleasesByCommitUsesTheIndexOnPostgres(t *testing.T) {
	srv := postgresOnly(t)
	ctx := context.Background()
	name := fmt.Sprintf("icu_commits_%d", os.Getpid())
	srv.Exec(t, `CREATE DATABASE `+name+` TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C'`)
	t.Cleanup(func() { srv.Exec(t, `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`) })
	s, err := Open(ctx, srv.URL("postgres", pgtest.Password, name))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i, c := range []string{"ab9fff", "aba000", "ab8000"} {
		r := Release{App: "shop", Env: "production", ReleaseID: fmt.Sprintf("2026110112%04d", i), Commit: c + strings.Repeat("0", 34)}
		if err := s.CreateRelease(ctx, &r, []string{"web1"}); err != nil {
			t.Fatal(err)
		}
	}
	if rs, err := s.ReleasesByCommit(ctx, "ab9"); err != nil || len(rs) != 1 || rs[0].Commit[:6] != "ab9fff" {
		t.Fatalf("releases of ab9 under an en-US collation: %+v %v", rs, err)
	}
	conn, err := s.DB().Connx(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `SET enable_seqscan = off`); err != nil {
		t.Fatal(err)
	}
	explain := func(q string, args ...any) string {
		var plan []string
		if err := conn.SelectContext(ctx, &plan, `EXPLAIN `+q, args...); err != nil {
			t.Fatal(err)
		}
		return strings.Join(plan, "\n")
	}
	if text := explain(`SELECT * FROM releases WHERE commit_hash >= $1 AND commit_hash < $2`, "ab9", "aba"); !strings.Contains(text, "Index Cond") {
		t.Errorf("the range query does not use the commit index:\n%s", text)
	}
	// What the store asked before: no index condition under this collation.
	if text := explain(`SELECT * FROM releases WHERE starts_with(commit_hash, $1)`, "ab9"); strings.Contains(text, "Index Cond") {
		t.Errorf("starts_with uses the index under en-US too, so this test shows nothing:\n%s", text)
	}
}
