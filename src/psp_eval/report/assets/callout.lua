--[[
Quarto callouts for the embedded renderer.

`::: {.callout-note}` (also -warning, -important, -tip, -caution) becomes a titled box. The
title comes from `title="..."`, else from a leading heading inside the callout (which then
leaves the table of contents, as in Quarto), else from the kind ("Note", ...). HTML gets
`div.callout.callout-<kind>` with `div.callout-title` and `div.callout-body` (styled by
report.css); Typst gets a call to `psp-callout`, defined in report.typ.
]]

local TITLES = {
  note = "Note",
  warning = "Warning",
  important = "Important",
  tip = "Tip",
  caution = "Caution",
}

local function kind_of(div)
  for _, class in ipairs(div.classes) do
    local kind = class:match("^callout%-(%a+)$")
    if TITLES[kind] then
      return kind
    end
  end
end

local function typst_inlines(inlines)
  local text = pandoc.write(pandoc.Pandoc({ pandoc.Plain(inlines) }), "typst")
  return (text:gsub("%s+$", ""))
end

function Div(div)
  local kind = kind_of(div)
  if kind == nil then
    return nil
  end
  local body = pandoc.Blocks(div.content)
  local title
  if div.attributes.title then
    title = pandoc.utils.blocks_to_inlines(pandoc.read(div.attributes.title, "markdown").blocks)
  elseif body[1] and body[1].t == "Header" then
    title = body:remove(1).content
  else
    title = pandoc.Inlines(TITLES[kind])
  end

  if FORMAT == "typst" then
    local blocks = pandoc.Blocks({
      pandoc.RawBlock("typst", '#psp-callout(kind: "' .. kind .. '", title: [' .. typst_inlines(title) .. "])["),
    })
    blocks:extend(body)
    blocks:insert(pandoc.RawBlock("typst", "]"))
    return blocks
  end
  return pandoc.Div({
    pandoc.Div(pandoc.Plain(title), pandoc.Attr("", { "callout-title" })),
    pandoc.Div(body, pandoc.Attr("", { "callout-body" })),
  }, pandoc.Attr(div.identifier, { "callout", "callout-" .. kind }, { role = "note" }))
end
