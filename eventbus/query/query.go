package query

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ErrInvalid is wrapped by Parse errors.
var ErrInvalid = errors.New("invalid query")

// EventTypeKey is the attribute key that holds an event's type.
const EventTypeKey = "tm.event"

// MaxConditions bounds the number of AND-ed conditions in a query.
const MaxConditions = 32

// Op is a comparison operator in a query condition.
type Op string

// The operators of CometBFT's event query language.
const (
	OpEqual        Op = "="
	OpLess         Op = "<"
	OpLessEqual    Op = "<="
	OpGreater      Op = ">"
	OpGreaterEqual Op = ">="
	OpContains     Op = "CONTAINS"
	OpExists       Op = "EXISTS"
)

// Condition is one "key op operand" term of a query. Key is a composite
// event key ("tm.event", "tx.hash", "transfer.sender").
type Condition struct {
	Key     string
	Op      Op
	Operand string // the string, or the number as written; empty for EXISTS
	Number  bool   // the operand is a number, compared numerically
	Time    bool   // the operand is a TIME or DATE, compared as a time
	num     float64
	tm      time.Time
}

// Query is a parsed event query: conditions joined by AND, as in
// "tm.event='Tx' AND transfer.amount > 5". The zero Query (or "") matches
// everything.
type Query struct {
	src   string
	conds []Condition
}

// Parse parses s, the CometBFT query syntax restricted to AND of
// conditions: operands are single-quoted strings or numbers; operators are
// =, <, <=, >, >=, CONTAINS and EXISTS (which takes no operand).
func Parse(s string) (*Query, error) {
	p := queryParser{src: s}
	q := &Query{src: strings.TrimSpace(s)}
	p.skipSpace()
	if p.eof() {
		return q, nil
	}
	for {
		c, err := p.condition()
		if err != nil {
			return nil, fmt.Errorf("%w %q: %w", ErrInvalid, s, err)
		}
		q.conds = append(q.conds, c)
		if len(q.conds) > MaxConditions {
			return nil, fmt.Errorf("%w %q: more than %d conditions", ErrInvalid, s, MaxConditions)
		}
		p.skipSpace()
		if p.eof() {
			return q, nil
		}
		if !p.keyword("AND") {
			return nil, fmt.Errorf("%w %q: expected AND at offset %d", ErrInvalid, s, p.pos)
		}
	}
}

// String returns the query as written.
func (q *Query) String() string { return q.src }

// Conditions returns the query's conditions, for an index to plan with.
func (q *Query) Conditions() []Condition { return append([]Condition(nil), q.conds...) }

// Without returns the query without its conditions on key; String still
// returns the query as written.
func (q *Query) Without(key string) *Query {
	out := &Query{src: q.src}
	for _, c := range q.conds {
		if c.Key != key {
			out.conds = append(out.conds, c)
		}
	}
	return out
}

// MayMatchEvent reports whether the query can match an event of type typ
// (tm.event): false when one of its conditions on tm.event rejects typ.
func (q *Query) MayMatchEvent(typ string) bool {
	for i := range q.conds {
		if q.conds[i].Key == EventTypeKey && !q.conds[i].matchesAny([]string{typ}) {
			return false
		}
	}
	return true
}

// Matches reports whether every condition holds for some value of its key
// in attrs (composite keys to values, as in Event.Attributes).
func (q *Query) Matches(attrs map[string][]string) bool {
	for i := range q.conds {
		if !q.conds[i].matchesAny(attrs[q.conds[i].Key]) {
			return false
		}
	}
	return true
}

// Float is a numeric condition's operand.
func (c *Condition) Float() float64 { return c.num }

func (c *Condition) matchesAny(values []string) bool {
	if c.Op == OpExists {
		return len(values) > 0
	}
	for _, v := range values {
		if c.Matches(v) {
			return true
		}
	}
	return false
}

// Matches reports whether the condition holds for one value v of its key
// (EXISTS, which asks whether the key has a value at all, is not for it).
func (c *Condition) Matches(v string) bool {
	if c.Op == OpContains {
		return strings.Contains(v, c.Operand)
	}
	var cmp int
	if c.Time {
		t, err := parseTimeValue(v)
		if err != nil {
			return false
		}
		return cmpHolds(c.Op, t.Compare(c.tm))
	}
	if c.Number {
		// Compare exactly when both are integers, else as floats.
		if a, err := strconv.ParseInt(v, 10, 64); err == nil {
			if b, err := strconv.ParseInt(c.Operand, 10, 64); err == nil {
				cmp = compare(a, b)
				return cmpHolds(c.Op, cmp)
			}
		}
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return false
		}
		cmp = compare(f, c.num)
	} else {
		cmp = strings.Compare(v, c.Operand)
	}
	return cmpHolds(c.Op, cmp)
}

func compare[T int64 | float64](a, b T) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func cmpHolds(op Op, cmp int) bool {
	switch op {
	case OpEqual:
		return cmp == 0
	case OpLess:
		return cmp < 0
	case OpLessEqual:
		return cmp <= 0
	case OpGreater:
		return cmp > 0
	case OpGreaterEqual:
		return cmp >= 0
	}
	return false
}

type queryParser struct {
	src string
	pos int
}

func (p *queryParser) eof() bool { return p.pos >= len(p.src) }

func (p *queryParser) skipSpace() {
	for !p.eof() && (p.src[p.pos] == ' ' || p.src[p.pos] == '\t' || p.src[p.pos] == '\n' || p.src[p.pos] == '\r') {
		p.pos++
	}
}

// keyword consumes kw (case-insensitive) when it is followed by a space or
// the end.
func (p *queryParser) keyword(kw string) bool {
	end := p.pos + len(kw)
	if end > len(p.src) || !strings.EqualFold(p.src[p.pos:end], kw) {
		return false
	}
	if end < len(p.src) && !isSpaceOrQuote(p.src[end]) {
		return false
	}
	p.pos = end
	return true
}

func isSpaceOrQuote(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\'' }

func isKeyByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '.' || c == '_' || c == '-' || c == '/' || c == ':' || c == '@' || c == '$'
}

func (p *queryParser) condition() (Condition, error) {
	var c Condition
	p.skipSpace()
	start := p.pos
	for !p.eof() && isKeyByte(p.src[p.pos]) {
		p.pos++
	}
	if p.pos == start {
		return c, fmt.Errorf("expected a key at offset %d", p.pos)
	}
	c.Key = p.src[start:p.pos]
	p.skipSpace()
	switch {
	case p.keyword("EXISTS"):
		c.Op = OpExists
		return c, nil
	case p.keyword("CONTAINS"):
		c.Op = OpContains
	case strings.HasPrefix(p.src[p.pos:], "<="):
		c.Op, p.pos = OpLessEqual, p.pos+2
	case strings.HasPrefix(p.src[p.pos:], ">="):
		c.Op, p.pos = OpGreaterEqual, p.pos+2
	case strings.HasPrefix(p.src[p.pos:], "<"):
		c.Op, p.pos = OpLess, p.pos+1
	case strings.HasPrefix(p.src[p.pos:], ">"):
		c.Op, p.pos = OpGreater, p.pos+1
	case strings.HasPrefix(p.src[p.pos:], "="):
		c.Op, p.pos = OpEqual, p.pos+1
	default:
		return c, fmt.Errorf("expected an operator after %q at offset %d", c.Key, p.pos)
	}
	p.skipSpace()
	if p.eof() {
		return c, fmt.Errorf("missing operand for %q", c.Key)
	}
	if p.src[p.pos] == '\'' {
		end := strings.IndexByte(p.src[p.pos+1:], '\'')
		if end < 0 {
			return c, fmt.Errorf("unterminated string at offset %d", p.pos)
		}
		c.Operand = p.src[p.pos+1 : p.pos+1+end]
		p.pos += end + 2
		return c, nil
	}
	if c.Op == OpContains {
		return c, fmt.Errorf("CONTAINS needs a quoted string at offset %d", p.pos)
	}
	if p.keyword("TIME") || p.keyword("DATE") {
		return p.timeOperand(c)
	}
	start = p.pos
	for !p.eof() && (p.src[p.pos] >= '0' && p.src[p.pos] <= '9' || strings.IndexByte("+-.eE", p.src[p.pos]) >= 0) {
		p.pos++
	}
	f, err := strconv.ParseFloat(p.src[start:p.pos], 64)
	if p.pos == start || err != nil {
		return c, fmt.Errorf("operand at offset %d is neither a quoted string nor a number", start)
	}
	c.Operand, c.Number, c.num = p.src[start:p.pos], true, f
	return c, nil
}

// Layouts of TIME and DATE operands and of the attribute values they are
// compared with.
const (
	queryTimeLayout = time.RFC3339Nano
	queryDateLayout = "2006-01-02"
)

// timeOperand reads the operand after TIME or DATE.
func (p *queryParser) timeOperand(c Condition) (Condition, error) {
	isDate := strings.EqualFold(p.src[p.pos-4:p.pos], "DATE")
	p.skipSpace()
	start := p.pos
	for !p.eof() && !isSpaceOrQuote(p.src[p.pos]) {
		p.pos++
	}
	layout := queryTimeLayout
	if isDate {
		layout = queryDateLayout
	}
	t, err := time.Parse(layout, p.src[start:p.pos])
	if err != nil {
		return c, fmt.Errorf("bad time at offset %d: %w", start, err)
	}
	c.Operand, c.Time, c.tm = p.src[start:p.pos], true, t
	return c, nil
}

func parseTimeValue(v string) (time.Time, error) {
	if t, err := time.Parse(queryTimeLayout, v); err == nil {
		return t, nil
	}
	return time.Parse(queryDateLayout, v)
}
