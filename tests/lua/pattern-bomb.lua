-- a pattern that backtracks for hours: Lua's matcher runs in C, where the instruction budget never fires
local s = string.rep("a", 3000)
local r = s:find(".-.-.-b")
experiment { name = "bomb" }
