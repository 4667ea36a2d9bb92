/**
 * The settlement as a table, and that table as CSV (UTF-8 with a BOM and CRLF, which Excel on
 * Chinese Windows opens without garbling) and XLSX (exceljs: one sheet, money as yuan numbers
 * with 2 decimals, a bold totals row, the header frozen). Headers in zh-CN by default. Money is
 * fen until here; cells hold yuan only as the last step.
 */
import ExcelJS from 'exceljs';
import type { MessageKey, Translate } from '../../web/i18n/index.ts';
import { yuan } from './settlement-calc.ts';
import type { CitySummary, SettlementReport } from './settlement-service.ts';

/** A cell: text, a count, or money in fen (`{ fen }`). */
export type Cell = string | number | { fen: number };

export interface Table {
  title: string;
  header: string[];
  rows: Cell[][];
  /** Indexes of rows that are totals (bold in XLSX, on the page). */
  totalRows: number[];
}

const ELDER_COLUMNS: MessageKey[] = [
  'settlement.col.elderId',
  'settlement.col.name',
  'settlement.col.category',
  'settlement.col.meals',
  'settlement.col.face',
  'settlement.col.manual',
  'settlement.col.delivery',
  'settlement.col.proxy',
  'settlement.col.subsidised',
  'settlement.col.unsubsidised',
  'settlement.col.amount',
  'settlement.col.voided',
  'settlement.col.duplicates',
  'settlement.col.inReview',
  'settlement.col.adjustment',
  'settlement.col.total',
  'settlement.col.flags',
];

export function settlementTable(r: SettlementReport, t: Translate): Table {
  const rows: Cell[][] = [];
  const totalRows: number[] = [];
  for (const e of r.elders) {
    rows.push([
      e.elderId,
      e.name ?? '',
      e.categoryName ?? t('settlement.noCategory'),
      e.meals,
      e.byMethod.face,
      e.byMethod.manual,
      e.byMethod.delivery,
      e.byMethod.proxy,
      e.subsidised,
      e.unsubsidised.length,
      { fen: e.amountFen },
      e.voided.length,
      e.duplicates,
      e.inReview,
      { fen: e.adjustmentFen },
      { fen: e.totalFen },
      e.flags.map((f) => t(`settlement.flag.${f}`)).join('、'),
    ]);
  }
  for (const c of r.categories) {
    totalRows.push(rows.length);
    rows.push([t('settlement.row.categoryTotal', { category: c.name ?? t('settlement.noCategory') }), '', c.name ?? '', c.meals, '', '', '', '', c.subsidised, c.meals - c.subsidised, { fen: c.amountFen }, '', '', '', { fen: c.adjustmentFen }, { fen: c.totalFen }, `${c.elders}`]);
  }
  const centreAdjustment = r.adjustments.filter((a) => a.elderId === null).reduce((n, a) => n + a.amountFen, 0);
  if (centreAdjustment !== 0) {
    rows.push([t('settlement.row.centreAdjustment'), '', '', '', '', '', '', '', '', '', '', '', '', '', { fen: centreAdjustment }, { fen: centreAdjustment }, '']);
  }
  const s = r.totals;
  totalRows.push(rows.length);
  rows.push([t('settlement.row.total'), '', '', s.meals, s.byMethod.face, s.byMethod.manual, s.byMethod.delivery, s.byMethod.proxy, s.subsidised, s.unsubsidised, { fen: s.amountFen }, s.voided, s.duplicates, s.inReview, { fen: s.adjustmentFen }, { fen: s.totalFen }, `${s.elders}`]);
  return { title: t('settlement.title', { centre: r.centreId, month: r.month }), header: ELDER_COLUMNS.map((k) => t(k)), rows, totalRows };
}

export function summaryTable(s: CitySummary, t: Translate): Table {
  const header = (['settlement.col.centre', 'settlement.col.elders', 'settlement.col.meals', 'settlement.col.subsidised', 'settlement.col.unsubsidised', 'settlement.col.amount', 'settlement.col.adjustment', 'settlement.col.total', 'settlement.col.voided', 'settlement.col.inReview', 'settlement.col.matches'] as const).map((k) => t(k));
  const rows: Cell[][] = s.centres.map((c) => [c.centreId, c.elders, c.meals, c.subsidised, c.unsubsidised, { fen: c.amountFen }, { fen: c.adjustmentFen }, { fen: c.totalFen }, c.voided, c.inReview, c.matchesSnapshot === null ? '' : t(c.matchesSnapshot ? 'yes' : 'no')]);
  const x = s.totals;
  rows.push([t('settlement.row.total'), x.elders, x.meals, x.subsidised, x.unsubsidised, { fen: x.amountFen }, { fen: x.adjustmentFen }, { fen: x.totalFen }, x.voided, x.inReview, '']);
  return { title: t('settlement.summaryTitle', { month: s.month }), header, rows, totalRows: [rows.length - 1] };
}

function csvField(c: Cell): string {
  let s = typeof c === 'object' ? yuan(c.fen) : String(c);
  if (typeof c === 'string' && /^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** CSV with a BOM; a text cell that a spreadsheet would run as a formula (=, +, -, @) is quoted behind a '. */
export function toCsv(table: Table): Buffer {
  const lines = [table.header, ...table.rows].map((r) => r.map(csvField).join(','));
  return Buffer.from(`\ufeff${lines.join('\r\n')}\r\n`, 'utf8');
}

export async function toXlsx(table: Table, sheetName: string): Promise<Buffer> {
  const wb = new ExcelJS.Workbook();
  wb.creator = 'mealcheck';
  const ws = wb.addWorksheet(sheetName, { views: [{ state: 'frozen', ySplit: 1 }] });
  ws.addRow(table.header).font = { bold: true };
  table.rows.forEach((r, i) => {
    const row = ws.addRow(r.map((c) => (typeof c === 'object' ? c.fen / 100 : c)));
    r.forEach((c, j) => {
      if (typeof c === 'object') row.getCell(j + 1).numFmt = '0.00';
    });
    if (table.totalRows.includes(i)) row.font = { bold: true };
  });
  table.header.forEach((h, j) => {
    ws.getColumn(j + 1).width = Math.max(8, h.length * 2 + 2);
  });
  return Buffer.from(await wb.xlsx.writeBuffer());
}

