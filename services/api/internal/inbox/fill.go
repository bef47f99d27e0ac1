package inbox

import "github.com/sim-modem-api/sim-modem-api/modem/smsmem"

// Fill is how full one message store is, as AT+CPMS showed it when a
// sweep selected the store (Result.Fills, Hooks.Fill).
type Fill = smsmem.Fill
