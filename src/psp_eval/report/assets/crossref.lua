--[[
Quarto-style cross-references for the embedded renderer.

Figures with an id `fig-*` and tables with an id `tbl-*` are numbered in document order and
their captions start "Figure N: " / "Table N: ". Citations `@fig-x`, `@Fig-x`, `[-@tbl-x]`
become links reading "Figure N" (or just "N" with the minus). A reference to a label that does
not exist, or to a kind this renderer does not number (sections, equations, listings), stops
the render: a report must not print a dangling "?@fig-x". Other citations keep their text,
as the reports have no bibliography.
]]

local NAMES = { fig = "Figure", tbl = "Table" }
local UNSUPPORTED = { sec = true, eq = true, lst = true }

local numbered = {} -- id -> "Figure 3"
local counts = { fig = 0, tbl = 0 }

local function kind_of(id)
  return (id:match("^(%a+)%-") or ""):lower()
end

local function number(element)
  local kind = element.identifier:match("^(%a+)%-")
  if counts[kind] == nil then
    return nil
  end
  if numbered[element.identifier] then
    error("label #" .. element.identifier .. " is used twice")
  end
  counts[kind] = counts[kind] + 1
  local name = NAMES[kind] .. " " .. counts[kind]
  numbered[element.identifier] = name
  local long = element.caption.long
  if #long == 0 then
    long:insert(pandoc.Plain({}))
  end
  long[1].content:insert(1, pandoc.Str(name .. ":"))
  long[1].content:insert(2, pandoc.Space())
  element.caption.long = long
  return element
end

local function reference(citation)
  local id = citation.id:sub(1, 1):lower() .. citation.id:sub(2)
  local name = numbered[id]
  if name == nil then
    if UNSUPPORTED[kind_of(id)] then
      error("cross-reference @" .. citation.id .. ": the embedded renderer numbers only figures and tables")
    end
    error("cross-reference @" .. citation.id .. " points to no figure or table with that label")
  end
  local text = citation.mode == "SuppressAuthor" and name:match("%d+$") or name
  local out = pandoc.Inlines(citation.prefix)
  if #out > 0 then
    out:insert(pandoc.Space())
  end
  out:insert(pandoc.Link(text, "#" .. id))
  out:extend(citation.suffix)
  return out
end

local function is_crossref(citation)
  local kind = kind_of(citation.id)
  return NAMES[kind] ~= nil or UNSUPPORTED[kind] ~= nil
end

local function resolve(cite)
  if not is_crossref(cite.citations[1]) then
    return cite.content
  end
  local out = pandoc.Inlines({})
  for i, citation in ipairs(cite.citations) do
    if i > 1 then
      out:extend({ pandoc.Str(","), pandoc.Space() })
    end
    out:extend(reference(citation))
  end
  return out
end

function Pandoc(doc)
  doc = doc:walk({ Figure = number, Table = number })
  return doc:walk({ Cite = resolve })
end
