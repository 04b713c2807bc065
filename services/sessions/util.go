package sessions

import (
	"strconv"

	"github.com/jackc/pgx/v5"
)

type pgxTx = pgx.Tx

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
