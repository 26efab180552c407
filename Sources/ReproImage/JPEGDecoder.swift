enum JPEGDecoder {
    static func decode(_ buf: UnsafeBufferPointer<UInt8>, options: ImageDecodingOptions) throws(ImageError) -> DecodedImage {
        throw .unsupported("jpeg")
    }
}
