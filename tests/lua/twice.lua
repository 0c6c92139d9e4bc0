-- experiment{} may be called once
experiment { name = "first" }

experiment { name = "second" }
