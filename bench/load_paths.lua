-- wrk script of the API load benchmark (bench/load_bench.py): each request is
-- the next path of a list the harness wrote (one path a line, real filters,
-- cursors and words taken from the archive), each thread starting at its own
-- place in the list. The Authorization header comes with wrk's -H.
--
--   wrk -t2 -c200 -d30s --latency -H 'Authorization: Bearer …' \
--       -s bench/load_paths.lua http://127.0.0.1:PORT -- paths.txt

local threads = 0

function setup(thread)
   thread:set("thread_index", threads)
   threads = threads + 1
end

local paths = {}
local next_index = 1

function init(args)
   local file = args[1]
   if file == nil then
      error("pass the file of paths after --")
   end
   for line in io.lines(file) do
      if line ~= "" then
         paths[#paths + 1] = line
      end
   end
   if #paths == 0 then
      error("no paths in " .. file)
   end
   -- spread the threads over the list
   next_index = ((thread_index or 0) * math.floor(#paths / 2)) % #paths + 1
end

function request()
   local path = paths[next_index]
   next_index = next_index % #paths + 1
   return wrk.format("GET", path)
end
