package store

const crashChildEnv = "STORE_TEST_CRASH_CHILD"

func crashChild() int { return 0 }
