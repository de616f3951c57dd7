import { createFileRegistry, fromBinary, ScalarType, type DescField, type DescMessage } from '@bufbuild/protobuf';
import { FileDescriptorSetSchema } from '@bufbuild/protobuf/wkt';
import { BinaryWriter, WireType } from '@bufbuild/protobuf/wire';
import fc from 'fast-check';
import { fileDescriptorSet } from '@latchkey/proto';
import { badBytes, badInteger, badText } from './fuzz-values.js';

/** One generated request body: its bytes and what was put in it (for the report and regression cases). */
export interface WireCase {
  label: string;
  bytes: Uint8Array;
}

const registry = createFileRegistry(fromBinary(FileDescriptorSetSchema, fileDescriptorSet()));

/** The request message of the method at `path` (`/latchkey.v1.CatalogService/PutSecret`), from the descriptors. */
export function requestTypeOf(path: string): DescMessage {
  const [, service, method] = /^\/([^/]+)\/([^/]+)$/.exec(path) ?? [];
  const desc = registry.getService(service ?? '')?.methods.find((m) => m.name === method);
  if (!desc) throw new Error(`no descriptor for ${path}`);
  return desc.input;
}

/** A piece of a message: one field written some way. */
interface Piece {
  label: string;
  write(w: BinaryWriter): void;
}

const VARINT_SCALARS = new Set([
  ScalarType.INT32,
  ScalarType.INT64,
  ScalarType.UINT32,
  ScalarType.UINT64,
  ScalarType.SINT32,
  ScalarType.SINT64,
  ScalarType.BOOL,
]);

/** The wire type a field is written with. */
function wireTypeOf(f: DescField): WireType {
  if (f.fieldKind === 'message' || f.fieldKind === 'map') return WireType.LengthDelimited;
  if (f.fieldKind === 'list' && f.listKind === 'message') return WireType.LengthDelimited;
  if (f.fieldKind === 'enum' || (f.fieldKind === 'list' && f.listKind === 'enum')) return WireType.Varint;
  const scalar = f.scalar;
  if (scalar === undefined) return WireType.LengthDelimited;
  if (VARINT_SCALARS.has(scalar)) return WireType.Varint;
  if ([ScalarType.FIXED32, ScalarType.SFIXED32, ScalarType.FLOAT].includes(scalar)) return WireType.Bit32;
  if ([ScalarType.FIXED64, ScalarType.SFIXED64, ScalarType.DOUBLE].includes(scalar)) return WireType.Bit64;
  return WireType.LengthDelimited;
}

/** `depth` start-groups, closed or left open: a reader that recurses to skip them runs out of stack. */
export function nestedGroups(field: number, depth: number, closed: boolean): Uint8Array {
  const w = new BinaryWriter();
  for (let i = 0; i < depth; i++) w.tag(field, WireType.StartGroup);
  if (closed) for (let i = 0; i < depth; i++) w.tag(field, WireType.EndGroup);
  return w.finish();
}

/** A field written with a wire type it does not have (or as a deep group). */
function wrongWire(no: number, right: WireType): fc.Arbitrary<Piece> {
  const options: fc.Arbitrary<Piece>[] = [];
  if (right !== WireType.Varint)
    options.push(badInteger.map((v) => ({ label: `varint`, write: (w) => w.tag(no, WireType.Varint).int64(v.value) })));
  if (right !== WireType.LengthDelimited)
    options.push(
      fc.uint8Array({ maxLength: 32 }).map((b) => ({
        label: 'length-delimited',
        write: (w) => w.tag(no, WireType.LengthDelimited).bytes(b),
      })),
    );
  options.push(
    fc.constant({ label: 'fixed64', write: (w: BinaryWriter) => w.tag(no, WireType.Bit64).fixed64(2n ** 64n - 1n) }),
    fc.constant({ label: 'fixed32', write: (w: BinaryWriter) => w.tag(no, WireType.Bit32).fixed32(0xffffffff) }),
    fc.integer({ min: 1, max: 3000 }).map((d) => ({
      label: `group(${d})`,
      write: (w: BinaryWriter) => w.raw(nestedGroups(no, d, true)),
    })),
  );
  return fc.oneof(...options);
}

/** One value of the field's own type, malformed (or plausible, so another field is the bad one). */
function typedValue(f: DescField, depth: number): fc.Arbitrary<Piece> {
  const no = f.number;
  const kind = f.fieldKind === 'list' ? f.listKind : f.fieldKind;
  if (kind === 'message') {
    const m = f.fieldKind === 'list' || f.fieldKind === 'message' ? f.message : undefined;
    if (!m || depth <= 0)
      return fc.uint8Array({ maxLength: 16 }).map((b) => ({
        label: 'garbage',
        write: (w) => w.tag(no, WireType.LengthDelimited).bytes(b),
      }));
    return messageCase(m, depth - 1).map((c) => ({
      label: `{${c.label}}`,
      write: (w) => w.tag(no, WireType.LengthDelimited).bytes(c.bytes),
    }));
  }
  if (kind === 'enum')
    return fc
      .integer({ min: -1, max: 1000 })
      .map((v) => ({ label: `enum(${v})`, write: (w) => w.tag(no, WireType.Varint).int32(v) }));
  const scalar = f.scalar;
  if (scalar === ScalarType.STRING)
    return badText(f.name).map((v) => ({
      label: v.label,
      write: (w) => w.tag(no, WireType.LengthDelimited).bytes(v.value),
    }));
  if (scalar === ScalarType.BYTES)
    return badBytes.map((v) => ({ label: v.label, write: (w) => w.tag(no, WireType.LengthDelimited).bytes(v.value) }));
  if (scalar === ScalarType.BOOL)
    return fc
      .constantFrom(0n, 1n, 2n, 255n, 2n ** 32n)
      .map((v) => ({ label: `bool(${v})`, write: (w) => w.tag(no, WireType.Varint).uint64(v) }));
  if (scalar !== undefined && VARINT_SCALARS.has(scalar))
    return badInteger.map((v) => ({ label: v.label, write: (w) => w.tag(no, WireType.Varint).int64(v.value) }));
  return fc.uint8Array({ minLength: 8, maxLength: 8 }).map((b) => ({
    label: 'fixed',
    write: (w) => w.tag(no, wireTypeOf(f)).raw(b.slice(0, wireTypeOf(f) === WireType.Bit32 ? 4 : 8)),
  }));
}

/** The encoded size of one piece. */
function measure(p: Piece): number {
  const w = new BinaryWriter();
  p.write(w);
  return w.finish().length;
}

/** How one field appears: left out, its type malformed, the wrong wire type, given twice, or many times. */
function fieldPieces(f: DescField, depth: number): fc.Arbitrary<Piece[]> {
  const one = typedValue(f, depth);
  const name = (p: Piece) => ({ ...p, label: `${f.name}=${p.label}` });
  const options: fc.WeightedArbitrary<Piece[]>[] = [
    { weight: 3, arbitrary: fc.constant([]) },
    { weight: 5, arbitrary: one.map((p) => [name(p)]) },
    { weight: 1, arbitrary: wrongWire(f.number, wireTypeOf(f)).map((p) => [name(p)]) },
    { weight: 1, arbitrary: fc.tuple(one, one).map(([a, b]) => [name(a), name(b)]) },
  ];
  if (f.fieldKind === 'list')
    options.push({
      weight: 1,
      arbitrary: fc.tuple(one, fc.integer({ min: 100, max: 3000 })).map(([p, wanted]) => {
        // Many small items, or a few big ones: a request stays within a few MiB.
        const size = measure(p);
        const n = size > 1000 ? Math.min(wanted, Math.floor((2 * 1024 * 1024) / size)) : wanted;
        return [
          {
            label: `${f.name}=${n}×${p.label}`,
            write: (w: BinaryWriter) => Array.from({ length: n }, () => p.write(w)),
          },
        ];
      }),
    });
  return fc.oneof(...options);
}

/** Fields the message does not have, with any wire type (they must be ignored or refused, never crash). */
const unknownField: fc.Arbitrary<Piece> = fc
  .tuple(fc.integer({ min: 40, max: 2 ** 29 - 1 }), fc.uint8Array({ maxLength: 24 }), fc.boolean())
  .map(([no, b, ld]) => ({
    label: `#${no}`,
    write: (w) => (ld ? w.tag(no, WireType.LengthDelimited).bytes(b) : w.tag(no, WireType.Varint).uint32(b.length)),
  }));

/**
 * A typed request of message `m`, malformed: every field of it present or
 * not, each with a malformed value of its type, a wrong wire type, twice, or
 * (repeated fields) thousands of times; unknown fields; deep groups.
 */
export function messageCase(m: DescMessage, depth = 2): fc.Arbitrary<WireCase> {
  return fc
    .tuple(
      fc.tuple(...m.fields.map((f) => fieldPieces(f, depth))),
      fc.array(unknownField, { maxLength: 2 }),
      fc.nat(19).map((n) => n === 0),
      fc.integer({ min: 1000, max: 100_000 }),
    )
    .map(([fields, unknown, deep, groupDepth]) => {
      const pieces = [...fields.flat(), ...unknown];
      if (deep && depth === 2)
        pieces.push({ label: `deep-group(${groupDepth})`, write: (w) => w.raw(nestedGroups(99, groupDepth, false)) });
      const w = new BinaryWriter();
      for (const p of pieces) p.write(w);
      return { label: pieces.map((p) => p.label).join(' ') || '(empty)', bytes: w.finish() };
    });
}

/** A protobuf varint. */
const varint = (n: number): number[] => {
  const b: number[] = [];
  let v = n >>> 0;
  while (v > 0x7f) {
    b.push((v & 0x7f) | 0x80);
    v >>>= 7;
  }
  b.push(v);
  return b;
};

/**
 * Raw request bytes a typed message cannot express: random bytes, a
 * length-delimited field with invalid UTF-8 or a malformed string, a varint
 * (an unknown enum value, a wrong wire type), a truncated length.
 */
export const rawCase: fc.Arbitrary<WireCase> = fc.oneof(
  fc.uint8Array({ maxLength: 64 }).map((b) => ({ label: 'random bytes', bytes: b })),
  fc.tuple(fc.integer({ min: 1, max: 12 }), badText()).map(([field, s]) => ({
    label: `#${field}=${s.label}`,
    bytes: Uint8Array.from([...varint((field << 3) | 2), ...varint(s.value.length), ...s.value]),
  })),
  fc.tuple(fc.integer({ min: 1, max: 12 }), fc.uint8Array({ minLength: 1, maxLength: 16 })).map(([field, b]) => ({
    label: `#${field}=invalid utf-8`,
    bytes: Uint8Array.from([...varint((field << 3) | 2), ...varint(b.length + 2), 0xff, 0xfe, ...b]),
  })),
  fc.tuple(fc.integer({ min: 1, max: 12 }), fc.integer({ min: -5, max: 2 ** 31 - 1 })).map(([field, n]) => ({
    label: `#${field}=varint ${n}`,
    bytes: Uint8Array.from([...varint(field << 3), ...varint(n)]),
  })),
  fc.integer({ min: 1, max: 12 }).map((field) => ({
    label: `#${field} truncated`,
    bytes: Uint8Array.from([...varint((field << 3) | 2), 0x7f, 0x01]),
  })),
);
