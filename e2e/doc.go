// Package e2e holds tests that run several real `flowxi serve` processes on one PostgreSQL and
// one Redis: state shared between instances, crashes and restarts.
package e2e
