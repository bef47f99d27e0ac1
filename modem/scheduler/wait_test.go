package scheduler

import "runtime"

func waitABit() { runtime.Gosched() }
