import { BinaryReader, WireType } from '@bufbuild/protobuf/wire';
import { FILE_DESCRIPTOR_SET_BASE64 } from './gen/descriptor-set.generated.js';

let files: Uint8Array[] | undefined;

/** The google.protobuf.FileDescriptorSet of every file under proto/, as `buf build` writes it. */
export function fileDescriptorSet(): Uint8Array {
  return Buffer.from(FILE_DESCRIPTOR_SET_BASE64, 'base64');
}

/**
 * The encoded google.protobuf.FileDescriptorProto of each file under proto/
 * (comments included), split out of the generated FileDescriptorSet: what
 * gRPC server reflection answers with. Decoded once, on first use.
 */
export function fileDescriptorProtos(): readonly Uint8Array[] {
  if (files) return files;
  const reader = new BinaryReader(fileDescriptorSet());
  const out: Uint8Array[] = [];
  while (reader.pos < reader.len) {
    const [field, type] = reader.tag();
    // FileDescriptorSet: `repeated FileDescriptorProto file = 1;`
    if (field === 1 && type === WireType.LengthDelimited) out.push(reader.bytes());
    else reader.skip(type);
  }
  files = out;
  return files;
}
