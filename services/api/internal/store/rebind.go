package store

import (
	"context"
	"database/sql/driver"
	"fmt"
	"strconv"
	"strings"
)

// The store's SQL is written once, with SQLite's ? placeholders.
// PostgreSQL numbers its parameters ($1, $2, ...): rebindConnector wraps
// pgx's database/sql connector so that every statement is rebound on its
// way to the server, and no query is written twice.

// rebind returns query with every ? placeholder numbered as $1, $2, ...;
// a ? inside a string literal, a quoted identifier or a comment is kept.
// SQLite's numbered form ?NNN is not supported (the store does not use
// it).
func rebind(query string) string {
	if !strings.Contains(query, "?") {
		return query
	}
	var b strings.Builder
	b.Grow(len(query) + 8)
	n := 0
	for i := 0; i < len(query); i++ {
		c := query[i]
		switch {
		case c == '\'' || c == '"': // to the closing quote; a doubled quote stays inside
			j := strings.IndexByte(query[i+1:], c)
			if j < 0 {
				b.WriteString(query[i:])
				return b.String()
			}
			b.WriteString(query[i : i+j+2])
			i += j + 1
		case c == '-' && i+1 < len(query) && query[i+1] == '-': // to the end of the line
			j := strings.IndexByte(query[i:], '\n')
			if j < 0 {
				b.WriteString(query[i:])
				return b.String()
			}
			b.WriteString(query[i : i+j+1])
			i += j
		case c == '/' && i+1 < len(query) && query[i+1] == '*':
			j := strings.Index(query[i+2:], "*/")
			if j < 0 {
				b.WriteString(query[i:])
				return b.String()
			}
			b.WriteString(query[i : i+j+4])
			i += j + 3
		case c == '?':
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// rebindConnector is a driver.Connector whose connections rebind.
type rebindConnector struct{ driver.Connector }

func (c rebindConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	rc, ok := conn.(rebindable)
	if !ok {
		conn.Close()
		return nil, fmt.Errorf("store: the PostgreSQL driver's connection %T lacks the context methods", conn)
	}
	return rebindConn{rc}, nil
}

// rebindable is what pgx's stdlib connection implements and database/sql
// uses.
type rebindable interface {
	driver.Conn
	driver.ConnPrepareContext
	driver.ConnBeginTx
	driver.ExecerContext
	driver.QueryerContext
	driver.Pinger
	driver.SessionResetter
	driver.NamedValueChecker
}

// rebindConn rebinds the statements of one connection.
type rebindConn struct{ rebindable }

func (c rebindConn) Prepare(query string) (driver.Stmt, error) {
	return c.rebindable.Prepare(rebind(query))
}

func (c rebindConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	return c.rebindable.PrepareContext(ctx, rebind(query))
}

func (c rebindConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	return c.rebindable.ExecContext(ctx, rebind(query), args)
}

func (c rebindConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	return c.rebindable.QueryContext(ctx, rebind(query), args)
}

// CheckNamedValue stores a bool as SQLite does, 0 or 1: the schema keeps
// flags in integer columns in both dialects.
func (c rebindConn) CheckNamedValue(v *driver.NamedValue) error {
	if b, ok := v.Value.(bool); ok {
		v.Value = int64(0)
		if b {
			v.Value = int64(1)
		}
		return nil
	}
	return c.rebindable.CheckNamedValue(v)
}
