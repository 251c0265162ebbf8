package store

import (
	"context"
	"fmt"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// table is one table's schema in terms both engines share: what
// TestSchemasAreEqual compares.
type table struct {
	Columns []string // name type-class [not null] [default]
	PK      []string
	Unique  []string // column lists of UNIQUE constraints
	Indexes []string // name [unique] (columns [desc]) [where …]
	FKs     []string // column -> table(column) on delete ACTION
	Checks  []string // column in [values], column between a and b
}

// TestSchemasAreEqual holds the PostgreSQL migrations to the SQLite ones:
// both fresh databases at the newest version have the same tables,
// columns (type, nullability, default), keys, indexes, foreign keys and
// checks.
func TestSchemasAreEqual(t *testing.T) {
	postgresOnly(t)
	ctx := context.Background()
	lite, err := Open(ctx, filepath.Join(t.TempDir(), "opsui.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer lite.Close()
	pg, err := Open(ctx, pgNew(t))
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()
	if v := latestStep(t, postgresSteps); v != SchemaVersion() {
		t.Fatalf("the newest PostgreSQL migration is version %d, SQLite's %d: add migrations/postgres/%04d_….sql", v, SchemaVersion(), SchemaVersion())
	}
	a, b := sqliteSchema(t, lite), postgresSchema(t, pg)
	for name := range a {
		if _, ok := b[name]; !ok {
			t.Errorf("table %s: on SQLite only", name)
		}
	}
	for name, pt := range b {
		st, ok := a[name]
		if !ok {
			t.Errorf("table %s: on PostgreSQL only", name)
			continue
		}
		if !reflect.DeepEqual(st, pt) {
			t.Errorf("table %s differs:\nsqlite:     %+v\npostgresql: %+v", name, st, pt)
		}
	}
	if len(a) < 10 {
		t.Fatalf("only %d tables read: %v", len(a), a)
	}
}

func latestStep(t *testing.T, pattern string) int {
	steps, err := migrationsIn(migrationFiles, pattern)
	if err != nil || len(steps) == 0 {
		t.Fatalf("%s: %v", pattern, err)
	}
	return steps[len(steps)-1].version
}

var castSuffix = regexp.MustCompile(`::[a-z ]+`)

func typeClass(t string) string {
	switch t = strings.ToLower(t); {
	case strings.Contains(t, "int"):
		return "int"
	case t == "blob" || t == "bytea":
		return "bytes"
	}
	return t
}

func column(name, typ string, notNull bool, dflt *string) string {
	c := name + " " + typeClass(typ)
	if notNull {
		c += " not null"
	}
	if dflt != nil {
		c += " default " + castSuffix.ReplaceAllString(*dflt, "")
	}
	return c
}

func sqliteSchema(t *testing.T, s *Store) map[string]*table {
	out := map[string]*table{}
	var tables []struct {
		Name string `db:"name"`
		SQL  string `db:"sql"`
	}
	if err := s.db.Select(&tables, `SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`); err != nil {
		t.Fatal(err)
	}
	for _, tb := range tables {
		tt := &table{}
		out[tb.Name] = tt
		var cols []struct {
			Name    string  `db:"name"`
			Type    string  `db:"type"`
			NotNull bool    `db:"notnull"`
			Default *string `db:"dflt_value"`
			PK      int     `db:"pk"`
			CID     int     `db:"cid"`
		}
		if err := s.db.Select(&cols, fmt.Sprintf(`PRAGMA table_info(%q)`, tb.Name)); err != nil {
			t.Fatal(err)
		}
		pk := map[int]string{}
		for _, c := range cols {
			tt.Columns = append(tt.Columns, column(c.Name, c.Type, c.NotNull || c.PK > 0, c.Default))
			if c.PK > 0 {
				pk[c.PK] = c.Name
			}
		}
		for i := 1; i <= len(pk); i++ {
			tt.PK = append(tt.PK, pk[i])
		}
		var idx []struct {
			Name    string `db:"name"`
			Unique  bool   `db:"unique"`
			Origin  string `db:"origin"`
			Partial bool   `db:"partial"`
			Seq     int    `db:"seq"`
		}
		if err := s.db.Select(&idx, fmt.Sprintf(`PRAGMA index_list(%q)`, tb.Name)); err != nil {
			t.Fatal(err)
		}
		for _, ix := range idx {
			var keys []struct {
				Name *string `db:"name"`
				Desc bool    `db:"desc"`
				Key  bool    `db:"key"`
				Seq  int     `db:"seqno"`
				CID  int     `db:"cid"`
				Coll *string `db:"coll"`
			}
			if err := s.db.Select(&keys, fmt.Sprintf(`PRAGMA index_xinfo(%q)`, ix.Name)); err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, k := range keys {
				if k.Key && k.Name != nil {
					names = append(names, *k.Name+map[bool]string{true: " desc"}[k.Desc])
				}
			}
			switch ix.Origin {
			case "u":
				tt.Unique = append(tt.Unique, strings.Join(names, ", "))
			case "c":
				var sql string
				if err := s.db.Get(&sql, `SELECT sql FROM sqlite_master WHERE name = ?`, ix.Name); err != nil {
					t.Fatal(err)
				}
				where := ""
				if _, w, ok := strings.Cut(sql, " WHERE "); ok {
					where = w
				}
				tt.Indexes = append(tt.Indexes, index(ix.Name, ix.Unique, names, where))
			}
		}
		var fks []struct {
			Table    string `db:"table"`
			From     string `db:"from"`
			To       string `db:"to"`
			OnDelete string `db:"on_delete"`
			OnUpdate string `db:"on_update"`
			ID       int    `db:"id"`
			Seq      int    `db:"seq"`
			Match    string `db:"match"`
		}
		if err := s.db.Select(&fks, fmt.Sprintf(`PRAGMA foreign_key_list(%q)`, tb.Name)); err != nil {
			t.Fatal(err)
		}
		for _, fk := range fks {
			tt.FKs = append(tt.FKs, fmt.Sprintf("%s -> %s(%s) on delete %s", fk.From, fk.Table, fk.To, strings.ToLower(fk.OnDelete)))
		}
		for _, c := range checkClauses(tb.SQL) {
			tt.Checks = append(tt.Checks, normalCheck(t, c))
		}
		tt.sort()
	}
	return out
}

// checkClauses returns the text inside each CHECK ( … ) of a CREATE TABLE.
func checkClauses(sql string) []string {
	var out []string
	for rest := sql; ; {
		i := strings.Index(rest, "CHECK (")
		if i < 0 {
			return out
		}
		rest = rest[i+len("CHECK ("):]
		depth := 1
		for j, r := range rest {
			if r == '(' {
				depth++
			} else if r == ')' {
				if depth--; depth == 0 {
					out = append(out, rest[:j])
					rest = rest[j:]
					break
				}
			}
		}
	}
}

var (
	checkIn       = regexp.MustCompile(`^\(*(\w+)\s+IN\s+\((.*)\)\)*$`)
	checkAny      = regexp.MustCompile(`^\(*(\w+) = ANY \(ARRAY\[(.*)\]\)\)*$`)
	checkBetween  = regexp.MustCompile(`^\(*(\w+) BETWEEN (\d+) AND (\d+)\)*$`)
	checkRange    = regexp.MustCompile(`^\(*(\w+) >= (\d+)\) AND \((\w+) <= (\d+)\)*$`)
	quotedLiteral = regexp.MustCompile(`'([^']*)'`)
)

func normalCheck(t *testing.T, c string) string {
	c = strings.Join(strings.Fields(c), " ")
	values := func(list string) string {
		var vs []string
		for _, m := range quotedLiteral.FindAllStringSubmatch(list, -1) {
			vs = append(vs, m[1])
		}
		sort.Strings(vs)
		return strings.Join(vs, ",")
	}
	switch {
	case checkIn.MatchString(c):
		m := checkIn.FindStringSubmatch(c)
		return m[1] + " in [" + values(m[2]) + "]"
	case checkAny.MatchString(c):
		m := checkAny.FindStringSubmatch(c)
		return m[1] + " in [" + values(m[2]) + "]"
	case checkBetween.MatchString(c):
		m := checkBetween.FindStringSubmatch(c)
		return m[1] + " between " + m[2] + " and " + m[3]
	case checkRange.MatchString(c):
		m := checkRange.FindStringSubmatch(c)
		return m[1] + " between " + m[2] + " and " + m[4]
	}
	t.Errorf("a CHECK this test cannot compare: %s", c)
	return c
}

func index(name string, unique bool, cols []string, where string) string {
	ix := name + " (" + strings.Join(cols, ", ") + ")"
	if unique {
		ix = name + " unique (" + strings.Join(cols, ", ") + ")"
	}
	where = castSuffix.ReplaceAllString(where, "") // PostgreSQL shows 'running'::text
	if where = strings.NewReplacer("(", "", ")", "", " ", "").Replace(where); where != "" {
		ix += " where " + where
	}
	return ix
}

func (tt *table) sort() {
	for _, l := range [][]string{tt.Unique, tt.Indexes, tt.FKs, tt.Checks} {
		sort.Strings(l)
	}
}
